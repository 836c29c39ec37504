package slotq_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"libslotq.dev/slotq"
)

func TestDequeuerIsLIFO(t *testing.T) {
	q := slotq.NewSlotQueue("lifo")
	defer q.Close()
	var slots []*testSlot
	for i := 0; i < 5; i++ {
		s := newSlot(i)
		slots = append(slots, s)
		tok := q.QueueSlot(s)
		if tok.ID() != uint64(i) {
			t.Fatalf("token %d has id %d", i, tok.ID())
		}
		defer tok.Release()
	}
	ch, cancel := q.StartDequeuer(context.Background())
	defer cancel()
	for i := 4; i >= 0; i-- {
		tok := recv(t, ch)
		if tok.ID() != uint64(i) || tok.Slot() != slots[i] {
			t.Fatalf("got slot %d, want %d (newest first)", tok.ID(), i)
		}
		if !tok.AcquireSlot() {
			t.Fatalf("acquire of slot %d failed", i)
		}
		tok.Release()
	}
	noRecv(t, ch, 20*time.Millisecond)
}

func TestDequeuerWaitsForSlot(t *testing.T) {
	q := slotq.NewSlotQueue("wait")
	defer q.Close()
	ch, cancel := q.StartDequeuer(context.Background())
	defer cancel()
	noRecv(t, ch, 20*time.Millisecond)
	s := newSlot(0)
	ctok := q.QueueSlot(s)
	defer ctok.Release()
	tok := recv(t, ch)
	defer tok.Release()
	if tok.Slot() != s || tok.ID() != ctok.ID() {
		t.Fatal("delivered another slot")
	}
	if st, _ := tok.State(); st != slotq.TokenLent {
		t.Fatalf("delivered token is %v, want lent", st)
	}
	if !tok.AcquireSlot() {
		t.Fatal("acquire failed")
	}
	if !isClosed(ctok.Trigger()) {
		t.Fatal("the container's trigger is not closed")
	}
}

func TestEjectAfterDeliveryFailsAcquire(t *testing.T) {
	q := slotq.NewSlotQueue("eject-lent")
	defer q.Close()
	s := newSlot(0)
	ctok := q.QueueSlot(s)
	defer ctok.Release()
	ch, cancel := q.StartDequeuer(context.Background())
	defer cancel()
	tok := recv(t, ch)
	defer tok.Release()
	if !q.EjectSlot(ctok) {
		t.Fatal("eject of a delivered, unacquired slot failed")
	}
	if tok.AcquireSlot() {
		t.Fatal("acquired an ejected slot")
	}
	if s.closes.Load() != 1 || !isClosed(tok.Trigger()) {
		t.Fatal("the ejected slot was not closed and triggered")
	}
	// The dequeuer goes on with later slots.
	s2 := newSlot(1)
	ctok2 := q.QueueSlot(s2)
	defer ctok2.Release()
	if tok2 := recv(t, ch); tok2.Slot() != s2 || !tok2.AcquireSlot() {
		t.Fatal("no next slot after an eject")
	}
}

func TestEjectedSlotsAreSkipped(t *testing.T) {
	q := slotq.NewSlotQueue("skip")
	defer q.Close()
	a, b := newSlot(0), newSlot(1)
	ta, tb := q.QueueSlot(a), q.QueueSlot(b)
	defer ta.Release()
	defer tb.Release()
	if !q.EjectSlot(tb) {
		t.Fatal("eject failed")
	}
	ch, cancel := q.StartDequeuer(context.Background())
	defer cancel()
	if tok := recv(t, ch); tok.Slot() != a {
		t.Fatalf("delivered slot %d, want the one not ejected", tok.ID())
	}
}

func TestSlotEjectedInsideDequeuerIsSkipped(t *testing.T) {
	q := slotq.NewSlotQueue("skip-held")
	defer q.Close()
	a := newSlot(0)
	ta := q.QueueSlot(a)
	defer ta.Release()
	ch, cancel := q.StartDequeuer(context.Background())
	defer cancel()
	// The dequeuer holds slot a (taken, not received yet).
	if q.Len() != 0 {
		t.Fatalf("Len() = %d, want the slot taken by the dequeuer", q.Len())
	}
	b := newSlot(1)
	tb := q.QueueSlot(b)
	defer tb.Release()
	if !q.EjectSlot(ta) {
		t.Fatal("eject of the held slot failed")
	}
	// Once the dequeuer has moved on to b, a cannot be delivered any more
	// (before, a receive races with its skip, as in the seed).
	eventually(t, "the dequeuer takes slot b", func() bool { return q.Len() == 0 })
	tok := recv(t, ch)
	if tok.Slot() != b {
		t.Fatalf("delivered slot %d, want slot b", tok.ID())
	}
	if !tok.AcquireSlot() {
		t.Fatal("acquire failed")
	}
}

func TestCancelWakesDequeuer(t *testing.T) {
	base := runtime.NumGoroutine()
	q := slotq.NewSlotQueue("cancel")
	defer q.Close()
	_, cancel := q.StartDequeuer(context.Background())
	cancel()
	goroutinesBackTo(t, base)
	// A cancelled dequeuer takes nothing.
	tok := q.QueueSlot(newSlot(0))
	defer tok.Release()
	if q.Len() != 1 {
		t.Fatalf("Len() = %d, want the slot left on the queue", q.Len())
	}
	cancel() // twice is harmless
}

func TestParentContextStopsDequeuer(t *testing.T) {
	base := runtime.NumGoroutine()
	q := slotq.NewSlotQueue("parent")
	defer q.Close()
	ctx, stop := context.WithCancel(context.Background())
	_, cancel := q.StartDequeuer(ctx)
	defer cancel()
	stop()
	goroutinesBackTo(t, base)
	// The dequeuer stops asynchronously: a slot queued now may reach it
	// first, and then comes back to the queue.
	tok := q.QueueSlot(newSlot(0))
	defer tok.Release()
	eventually(t, "the slot is left on the queue", func() bool { return q.Len() == 1 })
}

func TestCancelledDequeuerGivesSlotBack(t *testing.T) {
	q := slotq.NewSlotQueue("give-back")
	defer q.Close()
	s := newSlot(0)
	ctok := q.QueueSlot(s)
	defer ctok.Release()

	// Taken by a dequeuer, never received.
	_, cancel := q.StartDequeuer(context.Background())
	if q.Len() != 0 {
		t.Fatal("the dequeuer did not take the slot")
	}
	cancel()
	if q.Len() != 1 {
		t.Fatal("the slot is not back on the queue when the CancelFunc returns")
	}

	// Received, never acquired.
	ch, cancel := q.StartDequeuer(context.Background())
	tok := recv(t, ch)
	tok.Release()
	cancel()
	if q.Len() != 1 {
		t.Fatal("the slot is not back on the queue when the CancelFunc returns")
	}

	// Taken, and the caller's context is cancelled instead.
	ctx, stop := context.WithCancel(context.Background())
	_, cancel = q.StartDequeuer(ctx)
	stop()
	eventually(t, "the slot is back on the queue", func() bool { return q.Len() == 1 })
	cancel()

	// And a later caller gets it, untouched.
	ch, cancel = q.StartDequeuer(context.Background())
	defer cancel()
	tok = recv(t, ch)
	defer tok.Release()
	if tok.Slot() != s || !tok.AcquireSlot() || s.closes.Load() != 0 {
		t.Fatal("the slot given back was not usable")
	}
}

func TestGivenBackSlotGoesToWaitingDequeuer(t *testing.T) {
	q := slotq.NewSlotQueue("hand-over")
	defer q.Close()
	s := newSlot(0)
	ctok := q.QueueSlot(s)
	defer ctok.Release()
	_, cancel1 := q.StartDequeuer(context.Background()) // takes the slot
	ch2, cancel2 := q.StartDequeuer(context.Background())
	defer cancel2()
	noRecv(t, ch2, 10*time.Millisecond)
	cancel1()
	tok := recv(t, ch2)
	defer tok.Release()
	if tok.Slot() != s || !tok.AcquireSlot() {
		t.Fatal("the waiting dequeuer did not get the slot given back")
	}
}

func TestDequeuersServedInOrder(t *testing.T) {
	q := slotq.NewSlotQueue("fifo-waiters")
	defer q.Close()
	var chans []<-chan *slotq.SlotToken
	for i := 0; i < 3; i++ {
		ch, cancel := q.StartDequeuer(context.Background())
		defer cancel()
		chans = append(chans, ch)
	}
	for i := 0; i < 3; i++ {
		s := newSlot(i)
		ctok := q.QueueSlot(s)
		defer ctok.Release()
		if tok := recv(t, chans[i]); tok.Slot() != s || !tok.AcquireSlot() {
			t.Fatalf("dequeuer %d did not get slot %d", i, i)
		}
	}
}

func TestContainerAcquireWhileLentIsSkipped(t *testing.T) {
	q := slotq.NewSlotQueue("acquire-lent")
	defer q.Close()
	a := newSlot(0)
	ta := q.QueueSlot(a)
	defer ta.Release()
	ch, cancel := q.StartDequeuer(context.Background())
	defer cancel()
	// Another party acquires the slot the dequeuer holds: it skips it.
	if !ta.AcquireSlot() {
		t.Fatal("acquire failed")
	}
	b := newSlot(1)
	tb := q.QueueSlot(b)
	defer tb.Release()
	eventually(t, "the dequeuer takes slot b", func() bool { return q.Len() == 0 })
	if tok := recv(t, ch); tok.Slot() != b {
		t.Fatal("the dequeuer delivered a slot acquired by another party")
	}
}

func TestCancelledContextDeliversNothing(t *testing.T) {
	q := slotq.NewSlotQueue("dead-ctx")
	defer q.Close()
	ctok := q.QueueSlot(newSlot(0))
	defer ctok.Release()
	ctx, stop := context.WithCancel(context.Background())
	stop()
	ch, cancel := q.StartDequeuer(ctx)
	defer cancel()
	noRecv(t, ch, 20*time.Millisecond)
	eventually(t, "the slot is back on the queue", func() bool { return q.Len() == 1 })
}

func TestReleasedTokenPanicsOnUse(t *testing.T) {
	q := slotq.NewSlotQueue("released")
	defer q.Close()
	s := newSlot(0)
	tok := q.QueueSlot(s)
	tok.Release()
	tok.Release() // twice is harmless
	if tok.Slot() != s || tok.ID() != 0 {
		t.Fatal("Slot or ID changed by Release")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("AcquireSlot on a released token did not panic")
		}
	}()
	tok.AcquireSlot()
}

func TestSlotEjectedRightAfterHandoffIsSkipped(t *testing.T) {
	q := slotq.NewSlotQueue("skip-handed")
	defer q.Close()
	for i := 0; i < 50; i++ {
		ch, cancel := q.StartDequeuer(context.Background()) // waiting: armed
		a := newSlot(0)
		ta := q.QueueSlot(a) // handed to the dequeuer at once
		if !q.EjectSlot(ta) {
			t.Fatal("eject of a handed slot failed")
		}
		b := newSlot(1)
		tb := q.QueueSlot(b)
		eventually(t, "the dequeuer takes slot b", func() bool { return q.Len() == 0 })
		tok := recv(t, ch)
		if tok.Slot() != b || !tok.AcquireSlot() {
			t.Fatalf("round %d: delivered slot %d, want the one not ejected", i, tok.ID())
		}
		cancel()
		tok.Release()
		ta.Release()
		tb.Release()
	}
}
