// QueueArena: where queues whose key is inline live, numbered so that the
// manager's table can keep a queue's number and a tag of its key in one word.
//
// Why not malloc: the table entry then needs no pointer (see manager.h), and
// an agent with many functions creates queues while it serves calls, each
// on memory never touched before. On this project's VMs the first touch of
// a page costs ~12.6 us; populating it ahead (madvise MADV_POPULATE_WRITE,
// ~1.1 us) leaves ~6.1 us for the hypervisor's fault on the first touch
// (2026-11-28; an earlier day read 12.8, 1.2 and 8.8 us), so a chunk of
// kPerChunk blocks is populated in one call when it is made: about 40% less
// per page, and the rest is the price of new memory there. Past a few
// thousand queues, chunks come from 2 MiB slabs that the kernel may back with
// huge pages (queue_arena.cc): one fault for 13,000 queues.
//
// Chunks and slabs come from malloc (so malloc's statistics count them)
// and are kept for reuse once made: the arena holds as many blocks as there
// were queues at the peak. A freed block is poisoned under AddressSanitizer and marked
// inaccessible under valgrind, so a use after free is still caught there.
#ifndef SLOTQ_SRC_QUEUE_ARENA_H
#define SLOTQ_SRC_QUEUE_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include <atomic>

namespace slotq {

class QueueArena {
 public:
  static constexpr uint32_t kPerChunk = 256;
  static constexpr uint32_t kMaxChunks = 1u << 16;  // 16,777,216 blocks
  static constexpr uint32_t kNone = UINT32_MAX;     // not from the arena

  /// A block and its number in *index, or nullptr when out of memory.
  static void *Allocate(uint32_t *index);
  /// Gives back a block; its number may be handed out again.
  static void Free(uint32_t index);
  /// The block numbered `index` (from Allocate, not yet freed). The caller
  /// learnt the number in a way that orders it after the Allocate (a lock).
  static void *At(uint32_t index) {
    char *chunk = chunks_[index / kPerChunk].load(std::memory_order_relaxed);
    return chunk + static_cast<size_t>(index % kPerChunk) * block_size_;
  }

 private:
  static std::atomic<char *> chunks_[kMaxChunks];  // written once each, under the lock
  static const size_t block_size_;                 // sizeof(Queue), rounded up to 8
};

}  // namespace slotq

#endif  // SLOTQ_SRC_QUEUE_ARENA_H
