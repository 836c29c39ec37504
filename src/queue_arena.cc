#include "queue_arena.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mutex.h"
#include "queue.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLOTQ_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLOTQ_ARENA_ASAN 1
#endif
#endif
#ifdef SLOTQ_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define SLOTQ_ARENA_VALGRIND 1
#endif

namespace slotq {

std::atomic<char *> QueueArena::chunks_[QueueArena::kMaxChunks];
const size_t QueueArena::block_size_ = (sizeof(Queue) + 7) & ~static_cast<size_t>(7);

namespace {

// Faults in the whole pages of [p, p + n) with one system call (best effort).
void FaultIn(void *p, size_t n) {
#ifdef MADV_POPULATE_WRITE
  static const uintptr_t page = [] {
    long s = sysconf(_SC_PAGESIZE);
    return s > 0 ? static_cast<uintptr_t>(s) : 4096;
  }();
  uintptr_t b = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  uintptr_t e = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  // Best effort: kernels before 5.14 say EINVAL, and the pages then fault
  // in one by one on first use, as they would have anyway.
  if (e > b) (void)madvise(reinterpret_cast<void *>(b), e - b, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)n;
#endif
}

Mutex g_mu;  // guards everything below and the links of free blocks
uint32_t g_free SLOTQ_GUARDED_BY(g_mu) = QueueArena::kNone;  // last freed block
uint32_t g_fresh SLOTQ_GUARDED_BY(g_mu) = 0;                 // next never-used block number
uint32_t g_end SLOTQ_GUARDED_BY(g_mu) = 0;                   // blocks in the chunks made so far

// A free block holds the number of the next free one in its first bytes
// and is all off limits to the sanitizers' eyes (the allocator unpoisons it
// to read the link, under g_mu).
constexpr size_t kLink = sizeof(uint32_t);

void Poison(void *p, size_t n) {
#ifdef SLOTQ_ARENA_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#endif
#ifdef SLOTQ_ARENA_VALGRIND
  VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
  (void)p;
  (void)n;
}

void Unpoison(void *p, size_t n) {
#ifdef SLOTQ_ARENA_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
#ifdef SLOTQ_ARENA_VALGRIND
  VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#endif
  (void)p;
  (void)n;
}

// Makes a free block's link readable again, with its value (valgrind
// keeps the bytes' definedness apart from their accessibility).
void UnpoisonLink(void *block) {
#ifdef SLOTQ_ARENA_ASAN
  ASAN_UNPOISON_MEMORY_REGION(block, kLink);
#endif
#ifdef SLOTQ_ARENA_VALGRIND
  VALGRIND_MAKE_MEM_DEFINED(block, kLink);
#endif
  (void)block;
}

uint32_t ReadLink(const void *block) {
  uint32_t next;
  memcpy(&next, block, kLink);
  return next;
}

// Chunks past the first kSmallChunks (4,096 queues, 608 KiB) are carved
// from slabs of kSlab bytes, aligned and advised so that the kernel may back
// each with one huge page: on this project's VMs a huge page made creating
// 100,000 queues cost ~300 ns each instead of ~600 ns, the first touch of
// 4 KiB pages being most of it (see queue_arena.h). The price is memory in
// 2 MiB steps past that size, where transparent huge pages are enabled.
constexpr uint32_t kSmallChunks = 16;
constexpr size_t kSlab = size_t{2} << 20;
char *g_slab SLOTQ_GUARDED_BY(g_mu) = nullptr;  // the unused rest of the current slab
size_t g_slab_left SLOTQ_GUARDED_BY(g_mu) = 0;

char *NewChunk(uint32_t c, size_t bytes) SLOTQ_REQUIRES(g_mu) {
  if (c < kSmallChunks || bytes > kSlab) return static_cast<char *>(malloc(bytes));
  if (g_slab_left < bytes) {
    // The rest of the old slab (under one chunk) stays unused.
    void *slab = aligned_alloc(kSlab, kSlab);
    if (slab == nullptr) return nullptr;
#ifdef MADV_HUGEPAGE
    (void)madvise(slab, kSlab, MADV_HUGEPAGE);  // best effort: EINVAL without THP
#endif
    // Off limits until carved (its tail for good): an overflow off the last
    // block of a slab's last chunk is caught, as one off a malloc'd chunk is.
    Poison(slab, kSlab);
    g_slab = static_cast<char *>(slab);
    g_slab_left = kSlab;
  }
  char *chunk = g_slab;
  g_slab += bytes;
  g_slab_left -= bytes;
  return chunk;
}

// fork(): the child gets only the forking thread, so a lock that another
// thread held at that moment would stay held in the child for good. Holding
// g_mu across fork() hands the child the free list whole and unlocked.
void ForkPrepare() SLOTQ_NO_THREAD_SAFETY_ANALYSIS { g_mu.Lock(); }
void ForkDone() SLOTQ_NO_THREAD_SAFETY_ANALYSIS { g_mu.Unlock(); }
[[maybe_unused]] const int g_fork_handlers = pthread_atfork(ForkPrepare, ForkDone, ForkDone);

}  // namespace

void *QueueArena::Allocate(uint32_t *index) {
  MutexLock l(&g_mu);
  uint32_t i;
  if (g_free != kNone) {
    i = g_free;
    UnpoisonLink(At(i));  // all of a free block is off limits, its link too
    g_free = ReadLink(At(i));
  } else {
    if (g_fresh == g_end) {
      uint32_t c = g_end / kPerChunk;
      if (c == kMaxChunks) return nullptr;
      size_t bytes = block_size_ * kPerChunk;
      char *chunk = NewChunk(c, bytes);
      if (chunk == nullptr) return nullptr;
      FaultIn(chunk, bytes);
      Poison(chunk, bytes);
      chunks_[c].store(chunk, std::memory_order_release);
      g_end += kPerChunk;
    }
    i = g_fresh++;
  }
  void *p = At(i);
  Unpoison(p, block_size_);
  *index = i;
  // The next block handed out is most likely the next free or fresh one:
  // start bringing it into the cache now (a creation writes all of it).
  uint32_t next = g_free != kNone ? g_free : g_fresh < g_end ? g_fresh : kNone;
  if (next != kNone) __builtin_prefetch(At(next), 1);
  return p;
}

void QueueArena::Free(uint32_t index) {
  MutexLock l(&g_mu);
  char *p = static_cast<char *>(At(index));
  uint32_t next = g_free;
  memcpy(p, &next, kLink);
  // The whole block, link included: a freed queue's first bytes are its key
  // length and key, which a use after free would otherwise read unseen.
  Poison(p, block_size_);
  g_free = index;
}

}  // namespace slotq
