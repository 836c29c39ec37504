package slotq

import (
	"context"
	"runtime"
	"sync"
)

// dequeuer is one StartDequeuer: an event-driven libslotq dequeuer (armed,
// it notifies instead of blocking a thread) and the goroutine that carries
// its slots to the caller's channel.
type dequeuer struct {
	q      *SlotQueue
	out    chan *SlotToken
	notify chan struct{} // one place: a notification of the armed dequeuer
	h      handle        // of d, for the notification callback
	mu     sync.Mutex    // held around every use of c
	c      cDeq          // nil once freed
}

// StartDequeuer starts a caller's wait for slots, as the seed's
// startDequeuer: the returned channel delivers tokens, newest slot first, and
// the CancelFunc (or ctx) stops the wait promptly. Always call the CancelFunc
// when done, as with context.WithCancel.
//
// After delivering a token the dequeuer waits until it is acquired (by
// anyone) or ejected before it takes another: receive, then AcquireSlot; if
// that fails, receive again. A token received but never acquired stays
// reserved to this dequeuer until it is cancelled. A slot the dequeuer took
// but did not deliver, or delivered but nobody acquired, goes back to the
// queue when the dequeuer is cancelled (before the CancelFunc returns): no
// slot is lost. The channel is never closed; receive from it together with
// ctx.Done() or another way out.
//
// No OS thread waits for a dequeuer: the one goroutine it starts waits on
// channels, and exits when the dequeuer is cancelled.
func (q *SlotQueue) StartDequeuer(ctx context.Context) (<-chan *SlotToken, context.CancelFunc) {
	qc := q.handle()
	d := &dequeuer{q: q, out: make(chan *SlotToken), notify: make(chan struct{}, 1)}
	d.h = dequeuerHandles.add(d)
	// Armed before this returns, so that dequeuers are served in the order
	// they were started (the library hands a slot to the one waiting
	// longest). The notification may come at once: d.notify has room.
	c, rc := cStartDequeuer(qc, d.h)
	runtime.KeepAlive(q)
	if rc != cOK {
		dequeuerHandles.delete(d.h)
		panic(newError("StartDequeuer", rc))
	}
	d.c = c
	ctx, cancel := context.WithCancel(ctx)
	go d.run(ctx)
	return d.out, func() {
		cancel()
		d.free()
	}
}

// notified is the notification callback: it wakes run, without blocking.
func (d *dequeuer) notified() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// free frees the C dequeuer, once: the slot lent or handed to it, unless
// acquired, goes back to the queue before this returns. (Freeing rather than
// stopping first: libslotq 1.0.0's slotq_dequeuer_stop leaves that to the
// free.) slotq_dequeuer_free lets a notification in flight finish, and no
// new one starts: the handle may go after it. Under mu, so that run is not
// inside poll or arm meanwhile.
func (d *dequeuer) free() {
	d.mu.Lock()
	c := d.c
	d.c = nil
	if c != nil {
		cDeqFree(c)
	}
	d.mu.Unlock()
	if c != nil {
		dequeuerHandles.delete(d.h)
	}
}

// arm asks for one notification: when a slot is handed over (maybe at once,
// on this goroutine), or the dequeuer is stopped. False once freed.
func (d *dequeuer) arm() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return false
	}
	switch rc := cDeqArm(d.c); rc {
	case cOK, int(cESTOPPED): // stopped: notified
	default:
		panic(newError("StartDequeuer: arm", rc))
	}
	return true
}

// poll takes the slot handed to the armed dequeuer, without blocking.
func (d *dequeuer) poll() (cToken, handle, uint64, int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return nil, 0, 0, 0, int(cESTOPPED)
	}
	return cDeqPoll(d.c)
}

func (d *dequeuer) run(ctx context.Context) {
	defer d.free()
	done := ctx.Done()
	for {
		select {
		case <-d.notify:
		case <-done:
			return
		}
		if ctx.Err() != nil {
			return
		}
		c, h, id, st, rc := d.poll()
		switch rc {
		case cOK:
			if st != cTokenLent {
				// Ejected (or acquired through another token) after it was
				// handed to us and before we took it: libslotq 1.0.0 returns
				// such a token all the same. Skip it.
				cTokenRelease(c)
				if !d.arm() {
					return
				}
				continue
			}
		case cETimedOut: // a notification with nothing to take: wait again
			if !d.arm() {
				return
			}
			continue
		default: // freed by the CancelFunc
			return
		}
		t := newToken(c, slotHandles.get(h), d.q, id)
		select {
		case <-t.e.trigger: // taken meanwhile: do not offer it
			t.Release()
			if !d.arm() {
				return
			}
			continue
		default:
		}
		select {
		case d.out <- t:
			// The receiver owns t now. Wait until the slot is taken before
			// taking another, or the next poll would put this one back on the
			// stack and hand it out again.
			select {
			case <-t.e.trigger:
			case <-done:
				return
			}
		case <-t.e.trigger: // acquired by another party, or ejected: skip it
			t.Release()
		case <-done:
			t.Release() // free puts the slot back on the queue
			return
		}
		if !d.arm() {
			return
		}
	}
}
