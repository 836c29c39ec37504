package slotq_test

import (
	"context"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"libslotq.dev/slotq"
)

// slotOutcome is what happened to one queued slot, from both sides.
type slotOutcome struct {
	s        *testSlot
	ejected  atomic.Int32 // successful EjectSlot by its container
	acquired atomic.Int32 // successful AcquireSlot by a caller
}

// Producers queue slots and eject them after a random short idle time unless a
// caller acquired them first; consumers wait with dequeuers (some cancelling
// early) and acquire, exec and close. Every slot must end up acquired exactly
// once or ejected exactly once, and closed exactly once.
func TestConcurrentExactlyOnce(t *testing.T) {
	base := runtime.NumGoroutine()
	m := slotq.NewSlotQueueMgr()
	defer m.Close()
	call := sampleCall(0)
	q, _ := m.GetSlotQueue(call)
	q.ExitState(slotq.SlotQueueWaiter)

	const producers, perProducer, consumers = 6, 300, 12
	outcomes := make([][]*slotOutcome, producers)
	var pwg, cwg sync.WaitGroup
	stop := make(chan struct{})
	for p := 0; p < producers; p++ {
		pwg.Add(1)
		go func(p int) {
			defer pwg.Done()
			r := rand.New(rand.NewSource(int64(p)))
			for i := 0; i < perProducer; i++ {
				o := &slotOutcome{s: newSlot(p*perProducer + i)}
				outcomes[p] = append(outcomes[p], o)
				tok := q.QueueSlot(o.s)
				idle := time.NewTimer(time.Duration(r.Intn(300)) * time.Microsecond)
				select {
				case <-tok.Trigger():
					idle.Stop()
				case <-idle.C:
					if q.EjectSlot(tok) {
						o.ejected.Add(1)
					}
				}
				// Acquired (now or just before the eject): wait until the caller
				// gave it back, as a hot container does.
				if !closedWithin(o.s.closed) {
					t.Errorf("slot %d never closed", o.s.n)
				}
				tok.Release()
			}
		}(p)
	}
	var served atomic.Int64
	for c := 0; c < consumers; c++ {
		cwg.Add(1)
		go func(c int) {
			defer cwg.Done()
			r := rand.New(rand.NewSource(int64(100 + c)))
			for {
				q, _ := m.GetSlotQueue(call)
				ctx, cancelCtx := context.WithTimeout(context.Background(), time.Duration(r.Intn(500))*time.Microsecond)
				ch, cancel := q.StartDequeuer(ctx)
				var got *slotq.SlotToken
			wait:
				for got == nil {
					select {
					case tok := <-ch:
						if tok.AcquireSlot() {
							got = tok
						} else {
							tok.Release()
						}
					case <-ctx.Done():
						break wait
					case <-stop:
						break wait
					}
				}
				cancel()
				cancelCtx()
				q.ExitState(slotq.SlotQueueWaiter)
				if got != nil {
					if err := got.Exec(context.Background(), call); err != nil {
						t.Errorf("Exec: %v", err)
					}
					if err := got.CloseSlot(); err != nil {
						t.Errorf("CloseSlot: %v", err)
					}
					got.Release()
					served.Add(1)
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		}(c)
	}
	pwg.Wait()
	close(stop)
	cwg.Wait()

	// Count acquisitions from the slots' side: Exec ran once per acquired slot.
	var ejected, acquired int
	for _, list := range outcomes {
		for _, o := range list {
			e, x, cl := o.ejected.Load(), o.s.execs.Load(), o.s.closes.Load()
			if e+x != 1 || cl != 1 {
				t.Errorf("slot %d: ejected %d, executed %d, closed %d; want one of the first two, closed once",
					o.s.n, e, x, cl)
			}
			ejected += int(e)
			acquired += int(x)
		}
	}
	if total := producers * perProducer; ejected+acquired != total || int64(acquired) != served.Load() {
		t.Errorf("%d ejected + %d acquired of %d slots; consumers served %d", ejected, acquired, total, served.Load())
	}
	t.Logf("%d slots: %d acquired by callers, %d ejected", producers*perProducer, acquired, ejected)
	if q.Len() != 0 {
		t.Errorf("%d slots left on the queue", q.Len())
	}
	st := q.GetStats()
	if st.States != [slotq.SlotQueueLast]uint64{} {
		t.Errorf("states left: %v", st.States)
	}
	if !m.DeleteSlotQueue(q) {
		t.Error("the idle queue could not be deleted")
	}
	goroutinesBackTo(t, base)
}

// Ten thousand callers wait, each on its own dequeuer, without an OS thread
// each; then each gets exactly one slot.
func TestManyWaitersFewThreads(t *testing.T) {
	const waiters = 10000
	base := runtime.NumGoroutine()
	q := slotq.NewSlotQueue("many")
	defer q.Close()
	var started, finished sync.WaitGroup
	var got atomic.Int64
	seen := make([]atomic.Int32, waiters)
	abort := make(chan struct{})
	for i := 0; i < waiters; i++ {
		started.Add(1)
		finished.Add(1)
		go func() {
			defer finished.Done()
			ch, cancel := q.StartDequeuer(context.Background())
			defer cancel()
			started.Done()
			select {
			case tok := <-ch:
				if tok.AcquireSlot() {
					seen[tok.Slot().(*testSlot).n].Add(1)
					got.Add(1)
					tok.CloseSlot()
				}
				tok.Release()
			case <-abort:
			}
		}()
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // let every waiter settle into its wait
	threads := osThreads(t)
	t.Logf("%d goroutines waiting on dequeuers, %d OS threads", runtime.NumGoroutine()-base, threads)
	if threads >= 200 {
		close(abort)
		t.Fatalf("%d OS threads for %d waiting dequeuers", threads, waiters)
	}

	toks := make([]*slotq.SlotToken, waiters)
	for i := range toks {
		toks[i] = q.QueueSlot(newSlot(i))
	}
	done := make(chan struct{})
	go func() { finished.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(4 * wait):
		close(abort)
		t.Fatalf("only %d of %d waiters served", got.Load(), waiters)
	}
	if threads := osThreads(t); threads >= 200 {
		t.Errorf("%d OS threads after serving %d waiters", threads, waiters)
	}
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Fatalf("slot %d acquired %d times", i, n)
		}
		toks[i].Release()
	}
	if q.Len() != 0 {
		t.Fatalf("%d slots left", q.Len())
	}
	goroutinesBackTo(t, base)
}
