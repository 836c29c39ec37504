package slotq

// The thin layer over libslotq's C API: every call into C made by this
// package is in this file (callbacks from C are in callbacks.go, the C side
// in shim.c). Functions here convert arguments and results and return the C
// status; the rest of the package is plain Go.

/*
#cgo pkg-config: slotq
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// Opaque C handles, named for the rest of the package.
type (
	cMgr   = *C.slotq_mgr_t
	cQueue = *C.slotq_queue_t
	cToken = *C.slotq_token_t
	cDeq   = *C.slotq_dequeuer_t
)

// C status codes used by the package's logic.
const (
	cOK        = int(C.SLOTQ_OK)
	cETimedOut = int(C.SLOTQ_ETIMEDOUT)
)

func cStrerror(code int) string   { return C.GoString(C.slotq_strerror(C.int(code))) }
func cStatusName(code int) string { return C.GoString(C.slotq_status_name(C.int(code))) }
func cVersionString() string      { return C.GoString(C.slotq_version_string()) }
func cVersion() uint              { return uint(C.slotq_version()) }

// --- calls and keys ---------------------------------------------------------

// flatCall is a Call flattened into memory without Go pointers, as shim.c's
// goslotq_with_call reads it. Pooled: building it is on every GetSlotQueue.
type flatCall struct {
	buf  []byte
	lens []C.size_t
	nkv  int
}

var flatCallPool = sync.Pool{New: func() interface{} { return new(flatCall) }}

func flatten(c *Call) *flatCall {
	f := flatCallPool.Get().(*flatCall)
	f.buf = f.buf[:0]
	f.lens = f.lens[:0]
	for _, s := range [4]string{c.AppName, c.Path, c.Image, c.Format} {
		f.buf = append(f.buf, s...)
		f.lens = append(f.lens, C.size_t(len(s)))
	}
	for k, v := range c.Config {
		f.buf = append(f.buf, k...)
		f.buf = append(f.buf, v...)
		f.lens = append(f.lens, C.size_t(len(k)), C.size_t(len(v)))
	}
	f.nkv = len(c.Config)
	return f
}

func (f *flatCall) bufPtr() *C.char {
	if len(f.buf) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(&f.buf[0]))
}

func (f *flatCall) free() {
	if cap(f.buf) <= 1<<16 {
		flatCallPool.Put(f)
	}
}

func cCallKey(c *Call) (string, int) {
	f := flatten(c)
	defer f.free()
	var key C.slotq_key
	rc := int(C.goslotq_call_key(f.bufPtr(), &f.lens[0], C.size_t(f.nkv), C.int32_t(c.Timeout),
		C.int32_t(c.IdleTimeout), C.uint64_t(c.Memory), &key))
	if rc != cOK {
		return "", rc
	}
	return string(C.GoBytes(unsafe.Pointer(&key.bytes[0]), C.SLOTQ_KEY_SIZE)), rc
}

// --- manager ----------------------------------------------------------------

func cMgrCreate() (cMgr, int) {
	var m cMgr
	rc := int(C.slotq_mgr_create(&m))
	return m, rc
}

func cMgrDestroy(m cMgr) { C.slotq_mgr_destroy(m) }

// cMgrGet returns a new reference to the call's queue, counted as a Waiter.
func cMgrGet(m cMgr, c *Call) (cQueue, bool, int) {
	f := flatten(c)
	defer f.free()
	var q cQueue
	var isNew C.int
	rc := int(C.goslotq_mgr_get(m, f.bufPtr(), &f.lens[0], C.size_t(f.nkv), C.int32_t(c.Timeout),
		C.int32_t(c.IdleTimeout), C.uint64_t(c.Memory), &q, &isNew))
	return q, isNew != 0, rc
}

func cMgrDelete(m cMgr, q cQueue) int { return int(C.slotq_mgr_delete(m, q)) }

func cMgrCount(m cMgr) int {
	var n C.size_t
	C.slotq_mgr_count(m, &n)
	return int(n)
}

// --- queues -----------------------------------------------------------------

func cQueueCreate(key string) (cQueue, int) {
	var q cQueue
	var p unsafe.Pointer
	b := []byte(key)
	if len(b) != 0 {
		p = unsafe.Pointer(&b[0])
	}
	rc := int(C.slotq_queue_create(p, C.size_t(len(b)), &q))
	return q, rc
}

func cQueueRelease(q cQueue) { C.slotq_queue_release(q) }

func cQueueKey(q cQueue) string {
	var buf [C.SLOTQ_MAX_QUEUE_KEY]byte
	var n C.size_t
	if C.slotq_queue_key(q, unsafe.Pointer(&buf[0]), C.size_t(len(buf)), &n) != C.SLOTQ_OK {
		return ""
	}
	return string(buf[:n])
}

// cQueueSlot queues the slot of a handle; it returns the container's
// token reference and the token's id.
func cQueueSlot(q cQueue, h handle) (cToken, uint64, int) {
	var t cToken
	var id C.uint64_t
	rc := int(C.goslotq_queue_slot(q, C.uintptr_t(h), &t, &id))
	return t, uint64(id), rc
}

func cEject(q cQueue, t cToken) int { return int(C.slotq_eject(q, t)) }

func cQueueLen(q cQueue) int {
	var n C.size_t
	C.slotq_queue_len(q, &n)
	return int(n)
}

func cEnterState(q cQueue, s int) int { return int(C.slotq_queue_enter_state(q, C.int(s))) }
func cExitState(q cQueue, s int) int  { return int(C.slotq_queue_exit_state(q, C.int(s))) }
func cExitStateLatency(q cQueue, s int, lat uint64) int {
	return int(C.slotq_queue_exit_state_latency(q, C.int(s), C.uint64_t(lat)))
}
func cRecordLatency(q cQueue, s int, lat uint64) int {
	return int(C.slotq_queue_record_latency(q, C.int(s), C.uint64_t(lat)))
}

func goStats(s *C.slotq_stats) SlotQueueStats {
	var out SlotQueueStats
	for i := 0; i < int(SlotQueueLast); i++ {
		out.States[i] = uint64(s.states[i])
		out.LatencyCount[i] = uint64(s.latency_count[i])
		out.Latencies[i] = uint64(s.latencies[i])
	}
	return out
}

func cStats(q cQueue) SlotQueueStats {
	var s C.slotq_stats
	C.slotq_queue_stats(q, &s)
	return goStats(&s)
}

func cIsIdle(q cQueue) bool {
	var idle C.int
	C.slotq_queue_is_idle(q, &idle)
	return idle != 0
}

func cNewContainerNeeded(q cQueue) (bool, SlotQueueStats) {
	var needed C.int
	var s C.slotq_stats
	C.slotq_queue_is_new_container_needed(q, &needed, &s)
	return needed != 0, goStats(&s)
}

func cSignal(q cQueue) bool {
	var sent C.int
	C.slotq_queue_signal(q, &sent)
	return sent != 0
}

// cTakeSignal consumes a pending signal without blocking.
func cTakeSignal(q cQueue) bool { return C.slotq_queue_wait_signal(q, 0, nil) == C.SLOTQ_OK }

func cSetSignalNotify(q cQueue, h handle) int {
	return int(C.goslotq_queue_set_signal_notify(q, C.uintptr_t(h)))
}

// --- tokens -----------------------------------------------------------------

func cTokenRelease(t cToken)     { C.slotq_token_release(t) }
func cTokenAcquire(t cToken) int { return int(C.slotq_token_acquire(t)) }

func cTokenState(t cToken) (int, bool) {
	var st, closed C.int
	C.slotq_token_state_get(t, &st, &closed)
	return int(st), closed != 0
}

func cTokenClose(t cToken) int { return int(C.slotq_token_close(t, nil)) }

// --- dequeuers --------------------------------------------------------------

// cStartDequeuer starts a dequeuer notifying the handle's dequeuer, and
// arms it.
func cStartDequeuer(q cQueue, h handle) (cDeq, int) {
	var d cDeq
	rc := int(C.goslotq_start_dequeuer(q, C.uintptr_t(h), &d))
	return d, rc
}

func cDeqArm(d cDeq) int { return int(C.slotq_dequeuer_arm(d)) }
func cDeqFree(d cDeq)    { C.slotq_dequeuer_free(d) }

// cDeqPoll takes the slot handed to an armed dequeuer, without blocking: a
// new token reference, its slot handle, id and state.
func cDeqPoll(d cDeq) (cToken, handle, uint64, int, int) {
	var t cToken
	var h C.uintptr_t
	var id C.uint64_t
	var st C.int
	rc := int(C.goslotq_dequeuer_poll(d, &t, &h, &id, &st))
	return t, handle(h), uint64(id), int(st), rc
}

// The status codes of slotq.h (SLOTQ_STATUS_MAP), for errors.go.
const (
	cEINVAL      = C.SLOTQ_EINVAL
	cENOMEM      = C.SLOTQ_ENOMEM
	cETIMEDOUT   = C.SLOTQ_ETIMEDOUT
	cECANCELED   = C.SLOTQ_ECANCELED
	cESTOPPED    = C.SLOTQ_ESTOPPED
	cEGONE       = C.SLOTQ_EGONE
	cESTATE      = C.SLOTQ_ESTATE
	cEWRONGQUEUE = C.SLOTQ_EWRONGQUEUE
	cEBUSY       = C.SLOTQ_EBUSY
	cENOTFOUND   = C.SLOTQ_ENOTFOUND
	cEOVERLOAD   = C.SLOTQ_EOVERLOAD
	cESLOT       = C.SLOTQ_ESLOT
	cECALLBACK   = C.SLOTQ_ECALLBACK
	cEINTERNAL   = C.SLOTQ_EINTERNAL
)

// The token states of slotq.h, for token.go.
const (
	cTokenQueued    = C.SLOTQ_TOKEN_QUEUED
	cTokenLent      = C.SLOTQ_TOKEN_LENT
	cTokenAcquired  = C.SLOTQ_TOKEN_ACQUIRED
	cTokenEjected   = C.SLOTQ_TOKEN_EJECTED
	cTokenDiscarded = C.SLOTQ_TOKEN_DISCARDED
)

// The state indexes of slotq.h, for queue.go.
const (
	cRunner     = C.SLOTQ_RUNNER
	cStarter    = C.SLOTQ_STARTER
	cWaiter     = C.SLOTQ_WAITER
	cStateCount = C.SLOTQ_STATE_COUNT
	cKeySize    = C.SLOTQ_KEY_SIZE
	cMaxKey     = C.SLOTQ_MAX_QUEUE_KEY
)
