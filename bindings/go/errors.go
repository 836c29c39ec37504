package slotq

// Errno is a libslotq status code (one of the negative slotq_status values of
// slotq.h). Every failure this package reports wraps one, so callers test
// errors with errors.Is(err, slotq.ErrGone).
type Errno int

// The libslotq status codes, as slotq.h's SLOTQ_STATUS_MAP lists them.
const (
	ErrInvalid    Errno = cEINVAL      // invalid argument
	ErrNoMem      Errno = cENOMEM      // out of memory
	ErrTimedOut   Errno = cETIMEDOUT   // timed out
	ErrCanceled   Errno = cECANCELED   // cancelled
	ErrStopped    Errno = cESTOPPED    // dequeuer stopped
	ErrGone       Errno = cEGONE       // slot already acquired, ejected or closed
	ErrState      Errno = cESTATE      // operation not valid in the current state
	ErrWrongQueue Errno = cEWRONGQUEUE // token belongs to another queue
	ErrBusy       Errno = cEBUSY       // busy
	ErrNotFound   Errno = cENOTFOUND   // not found
	ErrOverload   Errno = cEOVERLOAD   // too many waiters
	ErrSlot       Errno = cESLOT       // the slot reported an error
	ErrCallback   Errno = cECALLBACK   // a callback returned an error
	ErrInternal   Errno = cEINTERNAL   // internal error (a libslotq bug)
)

// Error returns the library's message for the status (slotq_strerror).
func (e Errno) Error() string { return cStrerror(int(e)) }

// Name returns the status's C name, e.g. "SLOTQ_ETIMEDOUT" (slotq_status_name).
func (e Errno) Name() string { return cStatusName(int(e)) }

// Error is a failed operation: what was done, and the status libslotq gave.
type Error struct {
	Op   string // the Go method, e.g. "ExitState"
	Code Errno  // the status
}

// Error formats the failure as "slotq: Op: message".
func (e *Error) Error() string { return "slotq: " + e.Op + ": " + e.Code.Error() }

// Unwrap returns the status, for errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Code }

// newError wraps a C status; nil for SLOTQ_OK.
func newError(op string, rc int) error {
	if rc == cOK {
		return nil
	}
	return &Error{Op: op, Code: Errno(rc)}
}

// must panics with the error of a C status that only a bug or exhausted
// memory can produce, where the seed's API has no error to return.
func must(op string, rc int) {
	if rc != cOK {
		panic(newError(op, rc))
	}
}
