package slotq

import (
	"sync"
	"sync/atomic"
)

// handle names a Go object to C: it is passed as the slot pointer of a token
// or the argument of a notification, and turned back into the object by the
// callbacks. 0 is no handle.
//
// It plays the role of runtime/cgo.Handle, which this package does not use:
// cgo.Handle keeps its objects in one sync.Map, whose mutex is taken by every
// new handle and by lookups of recent ones. The callbacks look handles up and
// delete them, and a goroutine that blocks inside a callback from C keeps its
// OS thread blocked with it, so under load (thousands of slots queued and
// taken per second) callbacks waiting for that mutex made the runtime start
// hundreds of threads. Here lookups and deletes never block: a handle is an
// index into chunks that never move, and freed indexes go on a lock-free
// stack. Only making a handle may take a mutex, to grow the table, and never
// inside a callback.
type handle uintptr

const (
	handleChunkBits = 10
	handleChunkSize = 1 << handleChunkBits
)

type handleSlot[T any] struct {
	obj  atomic.Pointer[T]
	next atomic.Uint32 // the free stack's link: the next free index + 1
}

type handleChunk[T any] [handleChunkSize]handleSlot[T]

// handleTable holds the objects of type T that C may hold handles to.
type handleTable[T any] struct {
	chunks atomic.Pointer[[]*handleChunk[T]] // replaced, never changed, when grown
	free   atomic.Uint64                     // the free stack: a tag << 32 | top index + 1
	mu     sync.Mutex                        // serializes growth
	n      uint32                            // indexes handed out so far, under mu
}

// The package's tables: slots of tokens, dequeuer notifications, signal
// notifications.
var (
	slotHandles     handleTable[slotEntry]
	dequeuerHandles handleTable[dequeuer]
	signalHandles   handleTable[signaller]
)

func (t *handleTable[T]) slot(i uint32) *handleSlot[T] {
	return &(*t.chunks.Load())[i>>handleChunkBits][i&(handleChunkSize-1)]
}

// add makes a handle for obj.
func (t *handleTable[T]) add(obj *T) handle {
	i, ok := t.pop()
	if !ok {
		i = t.grow()
	}
	t.slot(i).obj.Store(obj)
	return handle(i + 1)
}

// get returns the object of a handle.
func (t *handleTable[T]) get(h handle) *T {
	obj := t.slot(uint32(h - 1)).obj.Load()
	if obj == nil {
		panic("slotq: callback with a deleted handle")
	}
	return obj
}

// delete drops a handle; its index may be reused at once.
func (t *handleTable[T]) delete(h handle) {
	i := uint32(h - 1)
	t.slot(i).obj.Store(nil)
	t.push(i)
}

func (t *handleTable[T]) pop() (uint32, bool) {
	for {
		head := t.free.Load()
		top := uint32(head)
		if top == 0 {
			return 0, false
		}
		next := t.slot(top - 1).next.Load()
		// The tag changes on every push and pop, so a top that was popped and
		// pushed again meanwhile (with another next) fails the swap.
		if t.free.CompareAndSwap(head, (head>>32+1)<<32|uint64(next)) {
			return top - 1, true
		}
	}
}

func (t *handleTable[T]) push(i uint32) {
	for {
		head := t.free.Load()
		t.slot(i).next.Store(uint32(head))
		if t.free.CompareAndSwap(head, (head>>32+1)<<32|uint64(i+1)) {
			return
		}
	}
}

// grow hands out a never used index, adding a chunk when needed.
func (t *handleTable[T]) grow() uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := t.n
	var chunks []*handleChunk[T]
	if p := t.chunks.Load(); p != nil {
		chunks = *p
	}
	if int(i>>handleChunkBits) == len(chunks) {
		grown := make([]*handleChunk[T], len(chunks)+1)
		copy(grown, chunks)
		grown[len(chunks)] = new(handleChunk[T])
		t.chunks.Store(&grown)
	}
	t.n++
	return i
}
