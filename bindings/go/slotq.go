// Package slotq is the Go binding of libslotq, the hot-container slot queue
// of a serverless function agent.
//
// It offers the API of the Go agent's original slot queue (slotQueueMgr,
// slotQueue, slotToken, with exported names), backed by the C library
// through its C ABI:
//
//   - SlotQueueMgr maps a function's Call to its SlotQueue (by the SHA-1 key
//     of GetSlotQueueKey) and counts callers as Waiters.
//   - SlotQueue is a LIFO stack of idle container slots, with per-state
//     counters, latency averages (GetStats, IsNewContainerNeeded) and a
//     one-place launch signal (Signal, Signaller).
//   - A container offers its Slot with QueueSlot and gets a SlotToken; it
//     learns that a caller took it from Trigger, or takes it back with
//     EjectSlot.
//   - A caller waits for slots on the channel of StartDequeuer, claims one
//     with AcquireSlot, runs on it with Exec, and gives it back with
//     CloseSlot.
//
// # Goroutines and threads
//
// No goroutine blocks in C. A dequeuer is an event-driven libslotq dequeuer
// plus one goroutine that waits on Go channels, so ten thousand waiting
// callers cost ten thousand goroutines, not ten thousand OS threads. Token
// triggers and launch signals are Go channels closed or filled by callbacks
// from the library. Slot.Close runs inside such a callback, on the goroutine
// whose call made the library close the slot (EjectSlot, CloseSlot, or the
// release of a queue with slots still on it): keep it short, since its OS
// thread stays with it while it runs. Slot.Exec is called by SlotToken.Exec
// directly, never from C.
//
// # Resources
//
// Tokens and queues own references to C objects. Release a token
// (SlotToken.Release) when done with it, Close a queue made by NewSlotQueue,
// Close a manager, and always call the CancelFunc of StartDequeuer. Values
// that become unreachable without that are released by finalizers as a
// safety net. A queue from a SlotQueueMgr belongs to the manager.
//
// Every method may be called from any goroutine.
package slotq

// Version returns the version of the loaded libslotq, e.g. "1.0.0".
func Version() string { return cVersionString() }

// VersionNumber returns the loaded libslotq's version as
// MAJOR*10000 + MINOR*100 + PATCH.
func VersionNumber() uint { return cVersion() }
