package slotq_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"libslotq.dev/slotq"
)

func sampleCall(i int) *slotq.Call {
	return &slotq.Call{AppName: "myapp", Path: fmt.Sprintf("/route/%d", i), Image: "fnproject/hello:0.0.1",
		Timeout: 30, IdleTimeout: 30, Memory: 128, Format: "http", Config: map[string]string{"K": fmt.Sprint(i)}}
}

func TestGetEntersWaiter(t *testing.T) {
	m := slotq.NewSlotQueueMgr()
	defer m.Close()
	c := sampleCall(0)
	q, isNew := m.GetSlotQueue(c)
	if !isNew {
		t.Fatal("first get did not create the queue")
	}
	if q.Key() != slotq.GetSlotQueueKey(c) {
		t.Fatal("the queue's key is not the call's key")
	}
	if w := q.GetStats().States[slotq.SlotQueueWaiter]; w != 1 {
		t.Fatalf("waiters %d after one get", w)
	}
	q2, isNew := m.GetSlotQueue(c)
	if isNew || q2 != q {
		t.Fatalf("second get: new %v, same queue %v", isNew, q2 == q)
	}
	if w := q.GetStats().States[slotq.SlotQueueWaiter]; w != 2 {
		t.Fatalf("waiters %d after two gets", w)
	}
	q3, isNew := m.GetSlotQueue(sampleCall(1))
	if !isNew || q3 == q {
		t.Fatal("another function shares the queue")
	}
	if m.Len() != 2 {
		t.Fatalf("Len() = %d", m.Len())
	}
	if err := q.Close(); !errors.Is(err, slotq.ErrManaged) {
		t.Fatalf("Close of a managed queue: %v", err)
	}
}

func TestIdleAndDelete(t *testing.T) {
	m := slotq.NewSlotQueueMgr()
	defer m.Close()
	c := sampleCall(0)
	q, _ := m.GetSlotQueue(c)
	if q.IsIdle() {
		t.Fatal("idle with a waiter")
	}
	if m.DeleteSlotQueue(q) {
		t.Fatal("deleted a busy queue")
	}
	if err := q.ExitState(slotq.SlotQueueWaiter); err != nil {
		t.Fatal(err)
	}
	if !q.IsIdle() {
		t.Fatal("not idle without parties")
	}
	q.EnterState(slotq.SlotQueueStarter)
	if m.DeleteSlotQueue(q) {
		t.Fatal("deleted a queue with a starter")
	}
	q.ExitState(slotq.SlotQueueStarter)
	if !m.DeleteSlotQueue(q) {
		t.Fatal("idle queue not deleted")
	}
	if m.DeleteSlotQueue(q) {
		t.Fatal("deleted twice")
	}
	if m.Len() != 0 {
		t.Fatalf("Len() = %d after delete", m.Len())
	}
	// The holder keeps a working queue; later gets make a new one.
	tok := q.QueueSlot(newSlot(0))
	defer tok.Release()
	q2, isNew := m.GetSlotQueue(c)
	if !isNew || q2 == q {
		t.Fatal("get after delete did not create a new queue")
	}
	if q2.Len() != 0 || q.Len() != 1 {
		t.Fatal("the new queue shares the old one's slots")
	}
	if m.DeleteSlotQueue(slotq.NewSlotQueue("foreign")) {
		t.Fatal("deleted a queue of no manager")
	}
}

func TestManagerCloseKeepsQueuesInUse(t *testing.T) {
	m := slotq.NewSlotQueueMgr()
	q, _ := m.GetSlotQueue(sampleCall(0))
	m.Close()
	m.Close()
	s := newSlot(0)
	ctok := q.QueueSlot(s)
	defer ctok.Release()
	ch, cancel := q.StartDequeuer(context.Background())
	defer cancel()
	if tok := recv(t, ch); tok.Slot() != s || !tok.AcquireSlot() {
		t.Fatal("the queue stopped working with its manager")
	}
	if m.Len() != 0 || m.DeleteSlotQueue(q) {
		t.Fatal("a closed manager still holds queues")
	}
}

func TestManagerConcurrentGetDelete(t *testing.T) {
	m := slotq.NewSlotQueueMgr()
	defer m.Close()
	const functions, workers, rounds = 8, 8, 300
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				c := sampleCall((w + i) % functions)
				q, _ := m.GetSlotQueue(c)
				if q.Key() != slotq.GetSlotQueueKey(c) {
					t.Errorf("got the queue of another function")
					return
				}
				if q.IsIdle() {
					t.Errorf("a queue with our waiter is idle")
					return
				}
				if err := q.ExitState(slotq.SlotQueueWaiter); err != nil {
					t.Error(err)
					return
				}
				m.DeleteSlotQueue(q)
			}
		}(w)
	}
	wg.Wait()
	// Every queue left is idle and can go.
	for i := 0; i < functions; i++ {
		q, _ := m.GetSlotQueue(sampleCall(i))
		q.ExitState(slotq.SlotQueueWaiter)
		if !m.DeleteSlotQueue(q) {
			t.Fatalf("queue %d not deleted at the end", i)
		}
	}
	if m.Len() != 0 {
		t.Fatalf("Len() = %d at the end", m.Len())
	}
}

func TestManagedQueueSharesSignaller(t *testing.T) {
	m := slotq.NewSlotQueueMgr()
	defer m.Close()
	q1, _ := m.GetSlotQueue(sampleCall(0))
	q2, _ := m.GetSlotQueue(sampleCall(0))
	if q1.Signaller() != q2.Signaller() {
		t.Fatal("two callers of one function see two signallers")
	}
	if !q1.Signal() || q2.Signal() {
		t.Fatal("the signal is not shared")
	}
	<-q2.Signaller()
}
