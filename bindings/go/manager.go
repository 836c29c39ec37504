package slotq

import (
	"runtime"
	"sync"
)

// SlotQueueMgr is the table from a function's slot key to its SlotQueue: the
// seed's slotQueueMgr. Close it when done with it.
type SlotQueueMgr struct {
	rw sync.RWMutex // write-held by Close; read-held by users of c
	c  cMgr         // nil once closed

	mu sync.Mutex // guards queues
	// The Go queue of each C queue in the table, so that every caller of
	// one function gets the same *SlotQueue (and the same Signaller).
	queues map[cQueue]*SlotQueue
}

// NewSlotQueueMgr creates an empty manager.
func NewSlotQueueMgr() *SlotQueueMgr {
	c, rc := cMgrCreate()
	must("NewSlotQueueMgr", rc)
	m := &SlotQueueMgr{c: c, queues: make(map[cQueue]*SlotQueue)}
	runtime.SetFinalizer(m, (*SlotQueueMgr).Close)
	return m
}

// GetSlotQueue finds or creates the queue of a call, and counts the caller as
// a Waiter on it, in one step (so a concurrent DeleteSlotQueue cannot remove
// a queue a caller is about to wait on). It reports whether the queue was
// created. The caller leaves the Waiter state later with ExitState or
// ExitStateWithLatency.
func (m *SlotQueueMgr) GetSlotQueue(call *Call) (*SlotQueue, bool) {
	m.rw.RLock()
	defer m.rw.RUnlock()
	if m.c == nil {
		panic("slotq: GetSlotQueue on a closed SlotQueueMgr")
	}
	c, isNew, rc := cMgrGet(m.c, call)
	must("GetSlotQueue", rc)
	m.mu.Lock()
	q := m.queues[c]
	if q == nil {
		q = newQueue(c, cQueueKey(c), true)
		m.queues[c] = q
		m.mu.Unlock()
		return q, isNew
	}
	m.mu.Unlock()
	cQueueRelease(c) // q holds its own reference
	return q, isNew
}

// DeleteSlotQueue removes a queue from the manager if it is idle (see
// SlotQueue.IsIdle), and reports whether it did. Holders of the queue may
// go on using it, but later gets of its function create a new queue.
func (m *SlotQueueMgr) DeleteSlotQueue(q *SlotQueue) bool {
	if !q.managed {
		return false
	}
	m.rw.RLock()
	defer m.rw.RUnlock()
	if m.c == nil {
		return false
	}
	if cMgrDelete(m.c, q.c) != cOK {
		return false
	}
	m.mu.Lock()
	if m.queues[q.c] == q {
		delete(m.queues, q.c)
	}
	m.mu.Unlock()
	return true
}

// Len returns the number of queues in the manager.
func (m *SlotQueueMgr) Len() int {
	m.rw.RLock()
	defer m.rw.RUnlock()
	if m.c == nil {
		return 0
	}
	return cMgrCount(m.c)
}

// Close destroys the manager. Its queues live on while someone uses them,
// and shut down (discarding their idle slots) once nobody can reach them.
// The manager must not be used afterwards; closing twice is harmless.
func (m *SlotQueueMgr) Close() {
	m.rw.Lock()
	defer m.rw.Unlock()
	if m.c == nil {
		return
	}
	runtime.SetFinalizer(m, nil)
	cMgrDestroy(m.c)
	m.c = nil
	m.mu.Lock()
	m.queues = nil
	m.mu.Unlock()
}
