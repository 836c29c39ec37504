package slotq

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// Slot is a hot container's slot: what a caller runs a call on.
type Slot interface {
	// Exec runs a call on the slot (called by SlotToken.Exec).
	Exec(ctx context.Context, call *Call) error
	// Close releases the slot. The library calls it at most once per
	// queued slot: when it is ejected, when the caller that acquired it
	// calls SlotToken.CloseSlot, or when its queue shuts down with the slot
	// still queued.
	Close() error
	// Error reports the slot's own error, nil for none (a slot may stand
	// for a container that failed to start).
	Error() error
}

// TokenState is where a token is in its life.
type TokenState int

// The states of a token (slotq_token_state).
const (
	TokenQueued    TokenState = cTokenQueued    // on the queue, waiting for a caller
	TokenLent      TokenState = cTokenLent      // handed to a dequeuer, not acquired yet
	TokenAcquired  TokenState = cTokenAcquired  // acquired by a caller (final)
	TokenEjected   TokenState = cTokenEjected   // ejected by its container (final)
	TokenDiscarded TokenState = cTokenDiscarded // discarded by its queue's shutdown (final)
)

// String returns the state's name, e.g. "acquired".
func (s TokenState) String() string {
	switch s {
	case TokenQueued:
		return "queued"
	case TokenLent:
		return "lent"
	case TokenAcquired:
		return "acquired"
	case TokenEjected:
		return "ejected"
	case TokenDiscarded:
		return "discarded"
	}
	return "unknown"
}

// slotEntry is what the C token's slot pointer stands for (through a
// handle, deleted when the C token is freed): shared by every SlotToken of
// the same queued slot.
type slotEntry struct {
	slot    Slot
	trigger chan struct{} // closed by the trigger callback
	// Written by the close callback, which runs at most once, and read by
	// the goroutine whose library call ran it.
	closeErr error
	panicked interface{}
}

// runClose is the close callback. A panic in Slot.Close is caught here, so
// that it does not unwind through the library, and raised again by the Go
// method that made the library close the slot.
func (e *slotEntry) runClose() (rc int) {
	defer func() {
		if p := recover(); p != nil {
			e.panicked = p
			rc = 1
		}
	}()
	if err := e.slot.Close(); err != nil {
		e.closeErr = err
		return 1
	}
	return 0
}

// fire is the trigger callback.
func (e *slotEntry) fire(state TokenState) {
	close(e.trigger)
	if state != TokenDiscarded {
		return // (an acquired slot's Close may be running now: leave panicked alone)
	}
	if p := e.panicked; p != nil {
		// Slot.Close panicked, on this goroutine, while the queue shut down:
		// there is no caller to give the panic to, so it stays unrecovered,
		// as in Go code.
		go panic(p)
	}
}

// rethrow raises again a panic of Slot.Close caught by runClose.
func (e *slotEntry) rethrow() {
	if p := e.panicked; p != nil {
		e.panicked = nil
		panic(p)
	}
}

// SlotToken is one offer of one slot: the seed's slotToken. The container
// that queued the slot holds one; each delivery of the slot by a dequeuer is
// another, for the same slot. Release it when done with it.
type SlotToken struct {
	c        cToken // one reference to the C token
	e        *slotEntry
	q        *SlotQueue
	id       uint64
	released atomic.Bool
}

func newToken(c cToken, e *slotEntry, q *SlotQueue, id uint64) *SlotToken {
	t := &SlotToken{c: c, e: e, q: q, id: id}
	runtime.SetFinalizer(t, (*SlotToken).Release)
	return t
}

func (t *SlotToken) handle() cToken {
	if t.released.Load() {
		panic("slotq: use of a released SlotToken")
	}
	return t.c
}

// AcquireSlot claims the slot: it succeeds for exactly one party per slot,
// and never once the slot was ejected. On success Trigger is closed, and the
// caller owns the slot's use until it calls CloseSlot.
func (t *SlotToken) AcquireSlot() bool {
	rc := cTokenAcquire(t.handle())
	runtime.KeepAlive(t)
	return rc == cOK
}

// Slot returns the slot that was queued.
func (t *SlotToken) Slot() Slot { return t.e.slot }

// ID returns the token's sequence number in its queue (0, 1, 2, ...).
func (t *SlotToken) ID() uint64 { return t.id }

// Trigger returns a channel that is closed once the slot is acquired, ejected
// (after its Close ran) or discarded: what the container waits on.
func (t *SlotToken) Trigger() <-chan struct{} { return t.e.trigger }

// State returns the token's state now, and whether the slot's Close has run.
func (t *SlotToken) State() (state TokenState, closed bool) {
	st, closed := cTokenState(t.handle())
	runtime.KeepAlive(t)
	return TokenState(st), closed
}

// Exec runs a call on an acquired slot: Slot.Exec, counted and timed as the
// queue's Runner state (what slotq_token_exec does, in Go, so that the slot
// runs on this goroutine and not inside a callback from C, which would hold
// an OS thread for the length of the call). It returns Slot.Exec's error, or
// an error wrapping ErrState if the token is not acquired or was closed.
func (t *SlotToken) Exec(ctx context.Context, call *Call) error {
	if st, closed := t.State(); st != TokenAcquired || closed {
		return &Error{Op: "Exec", Code: ErrState}
	}
	q := t.q
	if err := q.enterState("Exec", SlotQueueRunner); err != nil {
		if !q.closed.Load() {
			return err
		}
		// The owner closed the queue (NewSlotQueue's Close): it has shut
		// down, nobody can read its counts any more, and tokens stay
		// usable, so the call runs uncounted.
		return t.e.slot.Exec(ctx, call)
	}
	start := time.Now()
	// Fails only if the host left the Runner state itself: ignored, as
	// slotq_token_exec does.
	defer func() { q.exitStateLatency(SlotQueueRunner, uint64(time.Since(start))) }()
	return t.e.slot.Exec(ctx, call)
}

// CloseSlot gives an acquired slot back after use: the library runs its Close,
// at most once per slot. It returns Close's error, or an error wrapping
// ErrState if the slot is not acquired, or ErrGone if it was already closed
// (or ejected, or discarded).
func (t *SlotToken) CloseSlot() error {
	rc := cTokenClose(t.handle())
	runtime.KeepAlive(t)
	if rc != cOK {
		return newError("CloseSlot", rc)
	}
	t.e.rethrow()
	err := t.e.closeErr
	return err
}

// Release drops the token's reference to the library's token. It does not
// take the slot off the queue (eject it first for that). The token must not
// be used afterwards, except for Slot, ID and Trigger. Releasing twice is
// harmless; an unreachable token is released by a finalizer.
func (t *SlotToken) Release() {
	if t.released.CompareAndSwap(false, true) {
		runtime.SetFinalizer(t, nil)
		cTokenRelease(t.c)
	}
}
