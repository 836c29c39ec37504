package slotq_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"libslotq.dev/slotq"
)

// wait bounds every wait of the tests: long enough for a loaded CI machine
// running -race, short enough that a broken test ends by itself.
const wait = 10 * time.Second

// testSlot counts what the library and callers do with it.
type testSlot struct {
	n          int
	closes     atomic.Int32
	execs      atomic.Int32
	execErr    error
	closeErr   error
	closePanic interface{}
	closed     chan struct{}
}

func newSlot(n int) *testSlot { return &testSlot{n: n, closed: make(chan struct{})} }

func (s *testSlot) Exec(ctx context.Context, call *slotq.Call) error {
	s.execs.Add(1)
	return s.execErr
}

func (s *testSlot) Close() error {
	if s.closes.Add(1) == 1 {
		close(s.closed)
	}
	if s.closePanic != nil {
		panic(s.closePanic)
	}
	return s.closeErr
}

func (s *testSlot) Error() error { return nil }

// recv receives a token from a dequeuer channel, failing the test after wait.
func recv(t *testing.T, ch <-chan *slotq.SlotToken) *slotq.SlotToken {
	t.Helper()
	select {
	case tok := <-ch:
		if tok == nil {
			t.Fatal("received a nil token")
		}
		return tok
	case <-time.After(wait):
		t.Fatal("no token delivered")
	}
	return nil
}

// noRecv checks that a dequeuer channel delivers nothing for a while.
func noRecv(t *testing.T, ch <-chan *slotq.SlotToken, d time.Duration) {
	t.Helper()
	select {
	case tok := <-ch:
		t.Fatalf("unexpected token %d delivered", tok.ID())
	case <-time.After(d):
	}
}

// closedWithin reports whether a channel is closed within wait.
func closedWithin(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(wait):
		return false
	}
}

// isClosed reports whether a channel is closed now.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// eventually polls cond until it holds, failing the test after wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// goroutinesBackTo waits until the goroutine count falls back to base (the
// dequeuers' goroutines exited), failing the test after wait.
func goroutinesBackTo(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines left, want <= %d:\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(time.Millisecond)
	}
}

// osThreads returns the number of OS threads of the process.
func osThreads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("cannot count threads: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Threads:") {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Threads:")))
			if err != nil {
				t.Fatalf("bad Threads line %q", line)
			}
			return n
		}
	}
	t.Skip("no Threads line in /proc/self/status")
	return 0
}

// setLatency makes the state's average latency of a fresh queue equal avg:
// the first sample is not averaged in, and the second gives half its value.
func setLatency(q *slotq.SlotQueue, m slotq.SlotQueueMetricType, avg uint64) {
	q.RecordLatency(m, 0)
	q.RecordLatency(m, 2*avg)
}
