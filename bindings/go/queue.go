package slotq

import (
	"errors"
	"runtime"
	"strconv"
	"sync/atomic"
)

// SlotQueueMetricType is a state a queue counts parties in.
type SlotQueueMetricType int

// The states (slotq_state), and their number.
const (
	SlotQueueRunner  SlotQueueMetricType = cRunner     // running a call on a slot
	SlotQueueStarter SlotQueueMetricType = cStarter    // starting a container
	SlotQueueWaiter  SlotQueueMetricType = cWaiter     // waiting for a slot
	SlotQueueLast    SlotQueueMetricType = cStateCount // the number of states
)

// SlotQueueStats is a snapshot of a queue's counters: the seed's slotQueueStats.
type SlotQueueStats struct {
	States       [SlotQueueLast]uint64 // parties in each state now
	LatencyCount [SlotQueueLast]uint64 // latency samples recorded
	Latencies    [SlotQueueLast]uint64 // moving average of each state's latency
}

// KeySize is the size of a slot queue key made by GetSlotQueueKey.
const KeySize = cKeySize

// MaxKeySize is the longest key NewSlotQueue accepts.
const MaxKeySize = cMaxKey

// ErrManaged is returned by SlotQueue.Close for a queue that belongs to a
// SlotQueueMgr.
var ErrManaged = errors.New("slotq: the queue belongs to a SlotQueueMgr")

// SlotQueue is the LIFO stack of idle slots of one function, with its state
// counters, latency averages and launch signal: the seed's slotQueue.
type SlotQueue struct {
	c       cQueue // one reference to the C queue
	key     string
	managed bool
	sig     *signaller
	closed  atomic.Bool
}

// NewSlotQueue creates a queue outside any manager. Close it when done: its
// slots still queued are then discarded. It panics if the key is longer than
// MaxKeySize bytes.
func NewSlotQueue(key string) *SlotQueue {
	if len(key) > MaxKeySize {
		panic("slotq: NewSlotQueue: key longer than " + strconv.Itoa(MaxKeySize) + " bytes")
	}
	c, rc := cQueueCreate(key)
	must("NewSlotQueue", rc)
	return newQueue(c, key, false)
}

// newQueue wraps a C queue reference, which it takes over.
func newQueue(c cQueue, key string, managed bool) *SlotQueue {
	q := &SlotQueue{c: c, key: key, managed: managed, sig: newSignaller(c)}
	runtime.SetFinalizer(q, (*SlotQueue).release)
	return q
}

func (q *SlotQueue) release() {
	q.sig.stop()
	cQueueRelease(q.c)
}

func (q *SlotQueue) handle() cQueue {
	if q.closed.Load() {
		panic("slotq: use of a closed SlotQueue")
	}
	return q.c
}

// Close drops a queue made by NewSlotQueue. Once nobody uses it (its
// dequeuers are cancelled), its queued slots are discarded: their Close runs,
// their Trigger closes, and their State becomes TokenDiscarded. The queue
// must not be used afterwards; tokens stay usable. It returns ErrManaged for
// a queue of a SlotQueueMgr. Closing twice is harmless.
func (q *SlotQueue) Close() error {
	if q.managed {
		return ErrManaged
	}
	if q.closed.CompareAndSwap(false, true) {
		runtime.SetFinalizer(q, nil)
		q.release()
	}
	return nil
}

// Key returns the queue's key.
func (q *SlotQueue) Key() string { return q.key }

// QueueSlot offers a slot: it pushes a new token on top of the stack, or
// hands it straight to the dequeuer that has waited longest. The container
// keeps the token to wait on its Trigger or to eject it.
func (q *SlotQueue) QueueSlot(s Slot) *SlotToken {
	qc := q.handle()
	e := &slotEntry{slot: s, trigger: make(chan struct{})}
	h := slotHandles.add(e)
	c, id, rc := cQueueSlot(qc, h)
	runtime.KeepAlive(q)
	if rc != cOK {
		slotHandles.delete(h)
		panic(newError("QueueSlot", rc))
	}
	return newToken(c, e, q, id)
}

// EjectSlot takes an idle slot back: it succeeds once, and only if no caller
// acquired the slot first. On success the slot's Close has run and its
// Trigger is closed; on failure a caller has it (serve the call). A token of
// another queue fails too.
func (q *SlotQueue) EjectSlot(t *SlotToken) bool {
	rc := cEject(q.handle(), t.handle())
	runtime.KeepAlive(q)
	runtime.KeepAlive(t)
	if rc != cOK {
		return false
	}
	t.e.rethrow()
	return true
}

// Len returns the number of slots on the stack now (idle, not handed out).
func (q *SlotQueue) Len() int {
	n := cQueueLen(q.handle())
	runtime.KeepAlive(q)
	return n
}

// IsIdle reports whether nobody is waiting, running or starting on the queue
// (its idle slots do not count).
func (q *SlotQueue) IsIdle() bool {
	idle := cIsIdle(q.handle())
	runtime.KeepAlive(q)
	return idle
}

// GetStats returns a consistent snapshot of the counters.
func (q *SlotQueue) GetStats() SlotQueueStats {
	s := cStats(q.handle())
	runtime.KeepAlive(q)
	return s
}

// IsNewContainerNeeded applies the seed's launch policy to a snapshot of the
// counters, which it also returns.
func (q *SlotQueue) IsNewContainerNeeded() (bool, SlotQueueStats) {
	needed, s := cNewContainerNeeded(q.handle())
	runtime.KeepAlive(q)
	return needed, s
}

func metricName(m SlotQueueMetricType) string {
	switch m {
	case SlotQueueRunner:
		return "runner"
	case SlotQueueStarter:
		return "starter"
	case SlotQueueWaiter:
		return "waiter"
	}
	return strconv.Itoa(int(m))
}

// String returns the state's name, e.g. "waiter".
func (m SlotQueueMetricType) String() string { return metricName(m) }

func (q *SlotQueue) enterState(op string, m SlotQueueMetricType) error {
	if q.closed.Load() {
		return &Error{Op: op, Code: ErrState}
	}
	rc := cEnterState(q.c, int(m))
	runtime.KeepAlive(q)
	return newError(op, rc)
}

// exitStateLatency is ExitStateWithLatency for SlotToken.Exec, which may
// outlive an explicit Close of the queue.
func (q *SlotQueue) exitStateLatency(m SlotQueueMetricType, latency uint64) {
	if !q.closed.Load() {
		_ = cExitStateLatency(q.c, int(m), latency)
	}
	runtime.KeepAlive(q)
}

// EnterState counts one more party in a state. It panics on a state out of
// range (as the seed's array index does).
func (q *SlotQueue) EnterState(m SlotQueueMetricType) {
	rc := cEnterState(q.handle(), int(m))
	runtime.KeepAlive(q)
	must("EnterState("+metricName(m)+")", rc)
}

// ExitState counts one party less in a state. Where the seed panics, it
// returns an error wrapping ErrState: the state's counter is zero (nothing
// changes).
func (q *SlotQueue) ExitState(m SlotQueueMetricType) error {
	rc := cExitState(q.handle(), int(m))
	runtime.KeepAlive(q)
	return newError("ExitState("+metricName(m)+")", rc)
}

// ExitStateWithLatency counts one party less in a state and records how long
// it was there, atomically. It returns an error wrapping ErrState, and
// changes nothing, if the state's counter is zero.
func (q *SlotQueue) ExitStateWithLatency(m SlotQueueMetricType, latency uint64) error {
	rc := cExitStateLatency(q.handle(), int(m), latency)
	runtime.KeepAlive(q)
	return newError("ExitStateWithLatency("+metricName(m)+")", rc)
}

// RecordLatency records one latency sample of a state into its moving
// average (factor 0.5; the first sample is counted, not averaged in).
func (q *SlotQueue) RecordLatency(m SlotQueueMetricType, latency uint64) {
	rc := cRecordLatency(q.handle(), int(m), latency)
	runtime.KeepAlive(q)
	must("RecordLatency("+metricName(m)+")", rc)
}

// Signal asks the queue's launcher to look at it, without blocking: it
// reports whether the signal is now pending, false if one already was (the
// queue has room for one).
func (q *SlotQueue) Signal() bool {
	sent := q.sig.signal(q.handle())
	runtime.KeepAlive(q)
	return sent
}

// Signaller returns the channel on which the launcher receives the pending
// signal; a receive consumes it. The channel is the same for the queue's
// whole life and is never closed.
func (q *SlotQueue) Signaller() <-chan struct{} { return q.sig.ch }
