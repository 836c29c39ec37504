package slotq

// The Go functions libslotq calls back (through the trampolines of shim.c).
// Each argument is a handle (handles.go) that this package made and deletes
// only once the C side has let go of it. Callbacks run on the goroutine that
// called into C (the library calls them synchronously, without its locks),
// and hold its OS thread while they run: none of them blocks, except for
// the host's Slot.Close.

/*
#include "shim.h"
*/
import "C"

// goslotqClose is the slot's close callback: Slot.Close, at most once per token.
//
//export goslotqClose
func goslotqClose(h C.uintptr_t) C.int {
	return C.int(slotHandles.get(handle(h)).runClose())
}

// goslotqRelease runs when the C token is freed: the slot entry goes too.
//
//export goslotqRelease
func goslotqRelease(h C.uintptr_t) {
	slotHandles.delete(handle(h))
}

// goslotqTrigger runs once when the token is acquired, ejected or discarded.
//
//export goslotqTrigger
func goslotqTrigger(h C.uintptr_t, state C.int) {
	slotHandles.get(handle(h)).fire(TokenState(state))
}

// goslotqDequeuerNotify wakes the goroutine of an armed dequeuer.
//
//export goslotqDequeuerNotify
func goslotqDequeuerNotify(h C.uintptr_t) {
	dequeuerHandles.get(handle(h)).notified()
}

// goslotqSignalNotify runs when a launch signal becomes pending on a queue.
//
//export goslotqSignalNotify
func goslotqSignalNotify(h C.uintptr_t) {
	signalHandles.get(handle(h)).notified()
}
