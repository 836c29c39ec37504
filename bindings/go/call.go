package slotq

// Call holds the fields of a function call that identify its slot queue:
// those of the Go agent's call that the seed's getSlotQueueKey reads.
type Call struct {
	AppName     string            // the application's name
	Path        string            // the route's path
	Image       string            // the container image
	Timeout     int32             // the call's timeout, in seconds
	IdleTimeout int32             // the hot container's idle timeout, in seconds
	Memory      uint64            // memory, in MiB
	Format      string            // the function's I/O format, e.g. "http"
	Config      map[string]string // the function's configuration
}

// GetSlotQueueKey returns the slot queue key of a call: the 20 raw bytes of
// the SHA-1 that the seed's getSlotQueueKey computes, as libslotq's
// slotq_call_key computes it.
func GetSlotQueueKey(call *Call) string {
	key, rc := cCallKey(call)
	must("GetSlotQueueKey", rc)
	return key
}
