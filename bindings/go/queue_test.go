package slotq_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"libslotq.dev/slotq"
)

func TestQueueKey(t *testing.T) {
	q := slotq.NewSlotQueue("my-key")
	defer q.Close()
	if q.Key() != "my-key" {
		t.Fatalf("Key() = %q", q.Key())
	}
}

func TestEjectTwiceFails(t *testing.T) {
	q := slotq.NewSlotQueue("eject-twice")
	defer q.Close()
	s := newSlot(0)
	tok := q.QueueSlot(s)
	defer tok.Release()
	if !q.EjectSlot(tok) {
		t.Fatal("first eject failed")
	}
	if q.EjectSlot(tok) {
		t.Fatal("second eject succeeded")
	}
	if n := s.closes.Load(); n != 1 {
		t.Fatalf("Close ran %d times, want 1", n)
	}
	if !isClosed(tok.Trigger()) {
		t.Fatal("trigger not closed after eject")
	}
	if st, closed := tok.State(); st != slotq.TokenEjected || !closed {
		t.Fatalf("state %v closed %v, want ejected and closed", st, closed)
	}
	if tok.AcquireSlot() {
		t.Fatal("acquired an ejected slot")
	}
	if q.Len() != 0 {
		t.Fatalf("Len() = %d after eject", q.Len())
	}
}

func TestAcquireTwiceFails(t *testing.T) {
	q := slotq.NewSlotQueue("acquire-twice")
	defer q.Close()
	s := newSlot(0)
	tok := q.QueueSlot(s)
	defer tok.Release()
	if !tok.AcquireSlot() {
		t.Fatal("first acquire failed")
	}
	if tok.AcquireSlot() {
		t.Fatal("second acquire succeeded")
	}
	if !isClosed(tok.Trigger()) {
		t.Fatal("trigger not closed after acquire")
	}
	if q.EjectSlot(tok) {
		t.Fatal("ejected an acquired slot")
	}
	if s.closes.Load() != 0 {
		t.Fatal("Close ran on acquire")
	}
	if q.Len() != 0 {
		t.Fatalf("Len() = %d after acquire", q.Len())
	}
}

func TestCloseSlotRunsCloseOnce(t *testing.T) {
	q := slotq.NewSlotQueue("close-once")
	defer q.Close()
	s := newSlot(0)
	tok := q.QueueSlot(s)
	defer tok.Release()
	if err := tok.CloseSlot(); !errors.Is(err, slotq.ErrState) {
		t.Fatalf("CloseSlot before acquire: %v, want ErrState", err)
	}
	if !tok.AcquireSlot() {
		t.Fatal("acquire failed")
	}
	if err := tok.CloseSlot(); err != nil {
		t.Fatalf("CloseSlot: %v", err)
	}
	if err := tok.CloseSlot(); !errors.Is(err, slotq.ErrGone) {
		t.Fatalf("second CloseSlot: %v, want ErrGone", err)
	}
	if q.EjectSlot(tok) {
		t.Fatal("ejected a closed slot")
	}
	if n := s.closes.Load(); n != 1 {
		t.Fatalf("Close ran %d times, want 1", n)
	}
	if _, closed := tok.State(); !closed {
		t.Fatal("State does not report closed")
	}
}

func TestCloseSlotReturnsCloseError(t *testing.T) {
	q := slotq.NewSlotQueue("close-error")
	defer q.Close()
	s := newSlot(0)
	s.closeErr = errors.New("container gone")
	tok := q.QueueSlot(s)
	defer tok.Release()
	tok.AcquireSlot()
	if err := tok.CloseSlot(); err != s.closeErr {
		t.Fatalf("CloseSlot: %v, want the slot's error", err)
	}
}

func TestClosePanicReachesEjecter(t *testing.T) {
	q := slotq.NewSlotQueue("close-panic")
	defer q.Close()
	s := newSlot(0)
	s.closePanic = "boom"
	tok := q.QueueSlot(s)
	defer tok.Release()
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the panic of Slot.Close", p)
			}
		}()
		q.EjectSlot(tok)
		t.Fatal("EjectSlot did not panic")
	}()
	// The library finished the eject all the same.
	if st, closed := tok.State(); st != slotq.TokenEjected || !closed || !isClosed(tok.Trigger()) {
		t.Fatalf("state %v closed %v after a panicking Close", st, closed)
	}
}

func TestExec(t *testing.T) {
	q := slotq.NewSlotQueue("exec")
	defer q.Close()
	s := newSlot(0)
	s.execErr = errors.New("function failed")
	tok := q.QueueSlot(s)
	defer tok.Release()
	call := &slotq.Call{AppName: "app"}
	if err := tok.Exec(context.Background(), call); !errors.Is(err, slotq.ErrState) {
		t.Fatalf("Exec before acquire: %v, want ErrState", err)
	}
	if !tok.AcquireSlot() {
		t.Fatal("acquire failed")
	}
	if err := tok.Exec(context.Background(), call); err != s.execErr {
		t.Fatalf("Exec: %v, want the slot's error", err)
	}
	st := q.GetStats()
	if st.States[slotq.SlotQueueRunner] != 0 || st.LatencyCount[slotq.SlotQueueRunner] != 1 {
		t.Fatalf("after Exec: runners %d, runner samples %d; want 0 and 1",
			st.States[slotq.SlotQueueRunner], st.LatencyCount[slotq.SlotQueueRunner])
	}
	if s.execs.Load() != 1 {
		t.Fatalf("Slot.Exec ran %d times", s.execs.Load())
	}
	tok.CloseSlot()
	if err := tok.Exec(context.Background(), call); !errors.Is(err, slotq.ErrState) {
		t.Fatalf("Exec after CloseSlot: %v, want ErrState", err)
	}
}

// A token acquired before its queue was closed still runs its call (tokens
// stay usable after Close); the call is not counted, the queue being gone.
func TestExecAfterQueueClose(t *testing.T) {
	q := slotq.NewSlotQueue("exec-closed")
	s := newSlot(0)
	tok := q.QueueSlot(s)
	defer tok.Release()
	if !tok.AcquireSlot() {
		t.Fatal("acquire failed")
	}
	q.Close()
	if err := tok.Exec(context.Background(), &slotq.Call{AppName: "app"}); err != nil {
		t.Fatalf("Exec after the queue's Close: %v, want nil", err)
	}
	if s.execs.Load() != 1 {
		t.Fatalf("Slot.Exec ran %d times, want 1", s.execs.Load())
	}
	if err := tok.CloseSlot(); err != nil {
		t.Fatalf("CloseSlot: %v", err)
	}
}

func TestQueueCloseDiscardsSlots(t *testing.T) {
	q := slotq.NewSlotQueue("discard")
	s1, s2 := newSlot(1), newSlot(2)
	t1, t2 := q.QueueSlot(s1), q.QueueSlot(s2)
	defer t1.Release()
	defer t2.Release()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	for i, tok := range []*slotq.SlotToken{t1, t2} {
		if !isClosed(tok.Trigger()) {
			t.Fatalf("slot %d: trigger not closed", i)
		}
		if st, closed := tok.State(); st != slotq.TokenDiscarded || !closed {
			t.Fatalf("slot %d: state %v closed %v", i, st, closed)
		}
	}
	if s1.closes.Load() != 1 || s2.closes.Load() != 1 {
		t.Fatalf("Close ran %d and %d times", s1.closes.Load(), s2.closes.Load())
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestUnreachableQueueIsReleased(t *testing.T) {
	s := newSlot(0)
	func() {
		q := slotq.NewSlotQueue("finalized")
		q.QueueSlot(s) // token and queue dropped without Release / Close
	}()
	for i := 0; i < 50 && !isClosed(s.closed); i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if !closedWithin(s.closed) {
		t.Fatal("an unreachable queue's slot was never discarded")
	}
}

func TestEnterExitState(t *testing.T) {
	q := slotq.NewSlotQueue("states")
	defer q.Close()
	if !q.IsIdle() {
		t.Fatal("new queue not idle")
	}
	for _, m := range []slotq.SlotQueueMetricType{slotq.SlotQueueRunner, slotq.SlotQueueStarter, slotq.SlotQueueWaiter} {
		q.EnterState(m)
		if q.IsIdle() {
			t.Fatalf("idle with one %v", m)
		}
		if q.GetStats().States[m] != 1 {
			t.Fatalf("%v count %d", m, q.GetStats().States[m])
		}
		if err := q.ExitState(m); err != nil {
			t.Fatal(err)
		}
		if !q.IsIdle() {
			t.Fatalf("not idle after leaving %v", m)
		}
		if err := q.ExitState(m); !errors.Is(err, slotq.ErrState) {
			t.Fatalf("ExitState(%v) at zero: %v", m, err)
		}
	}
	// Idle slots do not make a queue busy.
	tok := q.QueueSlot(newSlot(0))
	defer tok.Release()
	if !q.IsIdle() {
		t.Fatal("a queued slot makes the queue busy")
	}
}

func TestEnterStateOutOfRangePanics(t *testing.T) {
	q := slotq.NewSlotQueue("range")
	defer q.Close()
	defer func() {
		if p := recover(); p == nil {
			t.Fatal("EnterState(SlotQueueLast) did not panic")
		}
	}()
	q.EnterState(slotq.SlotQueueLast)
}

// ewma is the seed's recordLatencyLocked.
func ewma(avg, count *uint64, lat uint64) {
	if *count != 0 {
		*avg = (*avg*5 + lat*5) / 10
	}
	*count++
}

func TestEWMA(t *testing.T) {
	q := slotq.NewSlotQueue("ewma")
	defer q.Close()
	var avg, count uint64
	samples := []uint64{100, 200, 50, 0, 7, math.MaxUint64, 3, math.MaxUint64 / 3, 1 << 62, 999}
	for i, lat := range samples {
		q.RecordLatency(slotq.SlotQueueStarter, lat)
		ewma(&avg, &count, lat)
		st := q.GetStats()
		if st.Latencies[slotq.SlotQueueStarter] != avg || st.LatencyCount[slotq.SlotQueueStarter] != count {
			t.Fatalf("after sample %d (%d): avg %d count %d, want %d %d", i, lat,
				st.Latencies[slotq.SlotQueueStarter], st.LatencyCount[slotq.SlotQueueStarter], avg, count)
		}
	}
	// The first sample is counted but not averaged in.
	q2 := slotq.NewSlotQueue("ewma-first")
	defer q2.Close()
	q2.RecordLatency(slotq.SlotQueueRunner, 1000)
	if st := q2.GetStats(); st.Latencies[slotq.SlotQueueRunner] != 0 || st.LatencyCount[slotq.SlotQueueRunner] != 1 {
		t.Fatalf("first sample: %+v", st)
	}
	// Exiting records atomically, and records nothing when the exit fails.
	if err := q2.ExitStateWithLatency(slotq.SlotQueueRunner, 1000); !errors.Is(err, slotq.ErrState) {
		t.Fatalf("ExitStateWithLatency at zero: %v", err)
	}
	if st := q2.GetStats(); st.LatencyCount[slotq.SlotQueueRunner] != 1 {
		t.Fatal("a failed ExitStateWithLatency recorded its latency")
	}
	q2.EnterState(slotq.SlotQueueRunner)
	if err := q2.ExitStateWithLatency(slotq.SlotQueueRunner, 1000); err != nil {
		t.Fatal(err)
	}
	if st := q2.GetStats(); st.Latencies[slotq.SlotQueueRunner] != 500 || st.States[slotq.SlotQueueRunner] != 0 {
		t.Fatalf("after ExitStateWithLatency: %+v", st)
	}
}

func TestIsNewContainerNeeded(t *testing.T) {
	type setup struct {
		waiters, starters, runners uint64
		run, wait, start           uint64 // average latencies
	}
	cases := []struct {
		name string
		s    setup
		want bool
	}{
		{"no waiters", setup{runners: 3}, false},
		{"as many starters as waiters", setup{waiters: 2, starters: 2}, false},
		{"no executors", setup{waiters: 1}, true},
		{"no wait latency", setup{waiters: 2, runners: 1, run: 10}, false},
		{"run per executor twice below wait", setup{waiters: 3, runners: 2, run: 100, wait: 101, start: 1000}, true},
		{"run below wait", setup{waiters: 3, runners: 1, run: 60, wait: 100, start: 1000}, true},
		{"start below wait", setup{waiters: 3, runners: 1, run: 200, wait: 100, start: 50}, true},
		{"none below wait", setup{waiters: 3, starters: 1, runners: 1, run: 400, wait: 100, start: 100}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := slotq.NewSlotQueue("policy")
			defer q.Close()
			for m, n := range map[slotq.SlotQueueMetricType]uint64{
				slotq.SlotQueueWaiter: c.s.waiters, slotq.SlotQueueStarter: c.s.starters, slotq.SlotQueueRunner: c.s.runners} {
				for i := uint64(0); i < n; i++ {
					q.EnterState(m)
				}
			}
			setLatency(q, slotq.SlotQueueRunner, c.s.run)
			setLatency(q, slotq.SlotQueueWaiter, c.s.wait)
			setLatency(q, slotq.SlotQueueStarter, c.s.start)
			got, st := q.IsNewContainerNeeded()
			if got != c.want {
				t.Fatalf("IsNewContainerNeeded() = %v, want %v (stats %+v)", got, c.want, st)
			}
			if st.States[slotq.SlotQueueWaiter] != c.s.waiters || st.Latencies[slotq.SlotQueueWaiter] != c.s.wait {
				t.Fatalf("snapshot %+v does not match the setup %+v", st, c.s)
			}
		})
	}
}

func TestSignallerHasRoomForOne(t *testing.T) {
	q := slotq.NewSlotQueue("signal")
	defer q.Close()
	if !q.Signal() {
		t.Fatal("first Signal not sent")
	}
	if q.Signal() {
		t.Fatal("second Signal sent while one is pending")
	}
	select {
	case <-q.Signaller():
	default:
		t.Fatal("no pending signal to receive")
	}
	select {
	case <-q.Signaller():
		t.Fatal("two signals received")
	default:
	}
	if !q.Signal() {
		t.Fatal("Signal after the receive not sent")
	}
	if !closedOrReceived(q.Signaller()) {
		t.Fatal("signal lost")
	}
}

func closedOrReceived(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestSignalConcurrentExactlyOne(t *testing.T) {
	q := slotq.NewSlotQueue("signal-race")
	defer q.Close()
	for round := 0; round < 50; round++ {
		var sent atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if q.Signal() {
					sent.Add(1)
				}
			}()
		}
		wg.Wait()
		if sent.Load() != 1 {
			t.Fatalf("round %d: %d signals sent, want 1", round, sent.Load())
		}
		if !closedOrReceived(q.Signaller()) {
			t.Fatalf("round %d: no signal pending", round)
		}
		if closedOrReceived(q.Signaller()) {
			t.Fatalf("round %d: two signals pending", round)
		}
	}
}

func TestSignalWakesLauncher(t *testing.T) {
	q := slotq.NewSlotQueue("launcher")
	defer q.Close()
	woke := make(chan struct{})
	go func() {
		<-q.Signaller()
		close(woke)
	}()
	q.Signal()
	if !closedWithin(woke) {
		t.Fatal("the launcher did not wake")
	}
}
