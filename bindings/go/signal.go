package slotq

import (
	"sync"
	"sync/atomic"
)

// signaller carries a queue's launch signal into a Go channel.
//
// libslotq keeps the pending signal (one bit) and calls goslotqSignalNotify
// when it becomes pending. The signal moves into ch, which has room for one,
// under mu, so that outside mu a signal is pending in C only for the moment
// between slotq_queue_signal and its move, and "pending" means "in ch".
// Signal checks ch first, under mu: it returns false while a signal waits in
// ch, and true again as soon as it was received, exactly as the seed's
// non-blocking send on a one-place channel.
//
// The notification runs inside a callback from C, where blocking would hold
// an OS thread, so it never waits for mu: it marks the signal dirty and moves
// it only if mu is free; whoever holds mu moves it after unlocking (drain).
type signaller struct {
	c     cQueue
	ch    chan struct{}
	mu    sync.Mutex
	dirty atomic.Bool // a signal may be pending in C
	h     handle      // of this signaller, for the notification
}

func newSignaller(c cQueue) *signaller {
	s := &signaller{c: c, ch: make(chan struct{}, 1)}
	s.h = signalHandles.add(s)
	if rc := cSetSignalNotify(c, s.h); rc != cOK {
		signalHandles.delete(s.h)
		panic(newError("set signal notify", rc))
	}
	return s
}

// stop unregisters the notification; libslotq guarantees that it is not
// running and will not run again once that returns.
func (s *signaller) stop() {
	_ = cSetSignalNotify(s.c, 0)
	signalHandles.delete(s.h)
}

// takeLocked moves a signal pending in C into ch; one already in ch absorbs
// it (the queue has room for one). Called with mu held.
func (s *signaller) takeLocked() {
	s.dirty.Store(false)
	if cTakeSignal(s.c) && len(s.ch) == 0 {
		s.ch <- struct{}{}
	}
}

// drain moves a signal marked dirty, unless another goroutine holds mu (it
// will drain after unlocking).
func (s *signaller) drain() {
	for s.dirty.Load() && s.mu.TryLock() {
		s.takeLocked()
		s.mu.Unlock()
	}
}

func (s *signaller) signal(c cQueue) bool {
	s.mu.Lock()
	if len(s.ch) != 0 {
		s.mu.Unlock()
		return false
	}
	// The notification of this signal runs inside the call, on this
	// goroutine: it finds mu held, and the signal is moved right after.
	sent := cSignal(c)
	s.takeLocked()
	s.mu.Unlock()
	s.drain()
	return sent
}

// notified is the notification callback.
func (s *signaller) notified() {
	s.dirty.Store(true)
	s.drain()
}
