// Command slotq-gobench runs the Go peer's benchmark workloads
// (shared/peer/go/peer_test.go) through the Go binding of libslotq, and
// prints one JSON line per scenario with the same fields, "impl":"go-binding",
// so that the seed, the binding and the C library can be compared line by
// line. It reports figures; it never judges them.
//
// Usage:
//
//	slotq-gobench [-scenario=key|mgr_get|cycle|handoff|eject|all] [-calls=N]
//	              [-producers=N] [-consumers=N] [-functions=N] [-queued=N]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"libslotq.dev/slotq"
)

var (
	scenario  = flag.String("scenario", "all", "key|mgr_get|cycle|handoff|eject|all (mem is not measurable through the binding)")
	producers = flag.Int("producers", 4, "hot containers queueing slots (handoff)")
	consumers = flag.Int("consumers", 16, "callers waiting for slots (handoff)")
	calls     = flag.Int("calls", 200000, "operations per scenario")
	functions = flag.Int("functions", 1000, "distinct function keys (mgr_get)")
	queued    = flag.Int("queued", 10000, "slots held by the queue (eject)")
	cpuprof   = flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
)

// result is one JSON line, with the fields of the Go peer's result.
type result struct {
	Impl          string  `json:"impl"`                      // "go-binding"
	Scenario      string  `json:"scenario"`                  // the workload
	Ops           int     `json:"ops"`                       // operations timed
	NsPerOp       float64 `json:"ns_per_op"`                 // wall time per operation
	OpsPerSec     float64 `json:"ops_per_s"`                 // operations per second
	P50Ns         int64   `json:"p50_ns,omitempty"`          // median wait (handoff)
	P99Ns         int64   `json:"p99_ns,omitempty"`          // 99th percentile wait (handoff)
	Producers     int     `json:"producers,omitempty"`       // hot containers (handoff)
	Consumers     int     `json:"consumers,omitempty"`       // callers (handoff)
	Queued        int     `json:"queued,omitempty"`          // slots held (eject)
	Functions     int     `json:"functions,omitempty"`       // distinct keys (mem, unused)
	BytesPerQueue float64 `json:"bytes_per_queue,omitempty"` // (mem, unused)
	BytesPerSlot  float64 `json:"bytes_per_slot,omitempty"`  // (mem, unused)
}

func emit(r result, d time.Duration) {
	r.Impl = "go-binding"
	r.NsPerOp = float64(d.Nanoseconds()) / float64(r.Ops)
	r.OpsPerSec = float64(r.Ops) / d.Seconds()
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	fmt.Fprintln(os.Stdout, string(b))
}

func sampleCall(i int) *slotq.Call {
	cfg := map[string]string{}
	for k := 0; k < 10; k++ {
		cfg[fmt.Sprintf("ENV_VAR_%02d", k)] = fmt.Sprintf("value-%d-%d", k, i)
	}
	return &slotq.Call{AppName: "myapp", Path: fmt.Sprintf("/route/%d", i), Image: "fnproject/hello:0.0.1",
		Timeout: 30, IdleTimeout: 30, Memory: 128, Format: "http", Config: cfg}
}

// peerSlot is the peer's slot: Close tells its container that it is free.
type peerSlot struct{ done chan struct{} }

// Exec runs nothing.
func (s *peerSlot) Exec(ctx context.Context, c *slotq.Call) error { return nil }

// Close marks the slot done.
func (s *peerSlot) Close() error { close(s.done); return nil }

// Error reports no error.
func (s *peerSlot) Error() error { return nil }

func runKey() {
	c := sampleCall(0)
	n := *calls
	start := time.Now()
	for i := 0; i < n; i++ {
		_ = slotq.GetSlotQueueKey(c)
	}
	emit(result{Scenario: "key", Ops: n}, time.Since(start))
}

func runMgrGet() {
	mgr := slotq.NewSlotQueueMgr()
	defer mgr.Close()
	cs := make([]*slotq.Call, *functions)
	for i := range cs {
		cs[i] = sampleCall(i)
	}
	n := *calls
	start := time.Now()
	for i := 0; i < n; i++ {
		q, _ := mgr.GetSlotQueue(cs[i%len(cs)])
		if err := q.ExitState(slotq.SlotQueueWaiter); err != nil {
			panic(err)
		}
	}
	emit(result{Scenario: "mgr_get", Ops: n}, time.Since(start))
}

// cycle: one caller, one hot slot, no contention: queue a slot, start a
// dequeuer, take the slot, acquire it, cancel the dequeuer, release the slot.
func runCycle() {
	q := slotq.NewSlotQueue("cycle")
	defer q.Close()
	n := *calls
	start := time.Now()
	for i := 0; i < n; i++ {
		s := &peerSlot{done: make(chan struct{})}
		ctok := q.QueueSlot(s)
		ch, cancel := q.StartDequeuer(context.Background())
		tok := <-ch
		if !tok.AcquireSlot() {
			panic("cycle: acquire failed")
		}
		cancel()
		if err := tok.CloseSlot(); err != nil {
			panic(err)
		}
		tok.Release()
		ctok.Release()
	}
	emit(result{Scenario: "cycle", Ops: n}, time.Since(start))
}

// handoff: P hot containers each loop queueing a slot and waiting until a
// caller has run on it; C callers each loop getting the queue from the
// manager, waiting for a slot as the Go agent's waitHot does, and releasing it.
func runHandoff() {
	mgr := slotq.NewSlotQueueMgr()
	defer mgr.Close()
	c := sampleCall(0)
	n := *calls
	var done int64
	stop := make(chan struct{})
	var pwg, cwg sync.WaitGroup
	q0, _ := mgr.GetSlotQueue(c)
	if err := q0.ExitState(slotq.SlotQueueWaiter); err != nil {
		panic(err)
	}
	for p := 0; p < *producers; p++ {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for {
				s := &peerSlot{done: make(chan struct{})}
				tok := q0.QueueSlot(s)
				select {
				case <-tok.Trigger():
				case <-stop:
					if q0.EjectSlot(tok) {
						tok.Release()
						return
					}
				}
				<-s.done
				tok.Release()
			}
		}()
	}
	lat := make([][]int64, *consumers)
	start := time.Now()
	for k := 0; k < *consumers; k++ {
		cwg.Add(1)
		go func(k int) {
			defer cwg.Done()
			for atomic.AddInt64(&done, 1) <= int64(n) {
				t0 := time.Now()
				q, _ := mgr.GetSlotQueue(c)
				ch, cancel := q.StartDequeuer(context.Background())
				var tok *slotq.SlotToken
				for tok == nil {
					t := <-ch
					if t.AcquireSlot() {
						tok = t
					} else {
						t.Release()
					}
				}
				w := time.Since(t0)
				if err := q.ExitStateWithLatency(slotq.SlotQueueWaiter, uint64(w.Nanoseconds())); err != nil {
					panic(err)
				}
				cancel()
				lat[k] = append(lat[k], w.Nanoseconds())
				if err := tok.CloseSlot(); err != nil {
					panic(err)
				}
				tok.Release()
			}
		}(k)
	}
	cwg.Wait()
	d := time.Since(start)
	close(stop)
	pwg.Wait()
	all := []int64{}
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	emit(result{Scenario: "handoff", Ops: n, Producers: *producers, Consumers: *consumers,
		P50Ns: all[len(all)/2], P99Ns: all[len(all)*99/100]}, d)
}

// eject: a queue holds Q idle slots; every one is ejected, in a shuffled order
// (containers time out in no particular order).
func runEject() {
	q := slotq.NewSlotQueue("eject")
	defer q.Close()
	toks := make([]*slotq.SlotToken, *queued)
	for i := range toks {
		toks[i] = q.QueueSlot(&peerSlot{done: make(chan struct{})})
	}
	r := rand.New(rand.NewSource(1))
	r.Shuffle(len(toks), func(i, j int) { toks[i], toks[j] = toks[j], toks[i] })
	start := time.Now()
	for _, t := range toks {
		if !q.EjectSlot(t) {
			panic("eject failed")
		}
	}
	emit(result{Scenario: "eject", Ops: len(toks), Queued: *queued}, time.Since(start))
	for _, t := range toks {
		t.Release()
	}
}

func main() {
	flag.Parse()
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "slotq-gobench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "slotq-gobench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	s := *scenario
	ran := false
	run := func(name string, f func()) {
		if s == "all" || s == name {
			f()
			ran = true
		}
	}
	run("key", runKey)
	run("mgr_get", runMgrGet)
	run("cycle", runCycle)
	run("handoff", runHandoff)
	run("eject", runEject)
	if s == "mem" {
		fmt.Fprintln(os.Stderr, "slotq-gobench: mem is not measured: the queues live in the C heap, which Go's heap figures do not see")
		return
	}
	if !ran {
		fmt.Fprintf(os.Stderr, "slotq-gobench: unknown scenario %q\n", s)
		pprof.StopCPUProfile()
		os.Exit(2)
	}
}
