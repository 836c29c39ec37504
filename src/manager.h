// Manager: the table from slot key to queue (slotq_mgr_t, the seed's slotQueueMgr).
#ifndef SLOTQ_SRC_MANAGER_H
#define SLOTQ_SRC_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include <mutex>

#include "key_tag.h"
#include "slotq.h"

namespace slotq {

class Queue;

/// Open addressing with linear probing over an array of 64-bit entries, each
/// a queue's number in QueueArena (plus one; 0 is empty) and, above it, the
/// key's tag (key_tag.h: a hash seeded per manager), which also chooses the
/// home slot. A probe touches a queue only when the tags match, and growing
/// never touches one, so with many queues a get misses the cache once in
/// the table and once on its queue. The table doubles when 13/16 full, and
/// the entries move to the bigger table a few at a time (each get or delete
/// moves kMoveStep slots' worth, see Migrate), so that no get moves them all: a
/// get during a move looks in both tables. A queue in the table holds one
/// handle for it.
class Manager {
 public:
  static Manager *Create();
  void Destroy();

  /// slotq_mgr_get_by_key: finds or creates, and enters Waiter, in one
  /// critical section. Returns a new handle in *out.
  int Get(const slotq_key &key, Queue **out, int *is_new);
  /// slotq_mgr_delete.
  int Delete(Queue *q);
  size_t Count();
  /// How far keys sit from their home slots, in slots probed to find them
  /// (1: in the home slot). O(capacity); for tests and debugging.
  struct ProbeLengths {
    size_t longest;
    double mean;
  };
  ProbeLengths Probes();
  /// Whether a doubling's move is still in progress; for tests.
  bool Moving() {
    std::lock_guard<std::mutex> l(mu_);
    return old_ != nullptr;
  }
  /// The tag this manager gives `key` (immutable, so no lock); for tests.
  uint32_t TagOf(const slotq_key &key) const { return tag_(key.bytes); }
  /// Calls `visit(queue)` for every queue, under the manager's lock (so
  /// with no handle of its own, which a caller dropping last would make it
  /// shut the queue down and run slot callbacks); `visit` may take the
  /// queue's lock (the order Get and Delete use) but must not call back
  /// into the manager.
  void ForEachQueue(void (*visit)(Queue *q, void *ctx), void *ctx);
  void SetMaxWaiters(uint32_t max) {
    std::lock_guard<std::mutex> l(mu_);
    max_waiters_ = max;
  }

 private:
  Manager() = default;
  ~Manager();
  // The slot of `key`, whose tag is `tag`, in table_, or the empty slot to use.
  size_t Find(const unsigned char *key, uint32_t tag) const;
  // The entry of `key` among old_'s slots not moved yet, or null.
  uint64_t *FindOld(const unsigned char *key, uint32_t tag) const;
  // Starts a doubling: table_ becomes old_ and a table twice its size
  // replaces it. Finishes a move still in progress first.
  bool Grow();
  // Moves the entries of the next `slots` slots of old_ to table_, and
  // frees old_ once every slot was moved.
  void Migrate(size_t slots);
  void Place(uint64_t entry);  // into table_, which has room for it
  void RemoveAt(size_t i);     // empties table_[i]
  // ForEachQueue without taking the lock: Destroy, and ForEachQueue itself.
  void ForEachQueueUnlocked(void (*visit)(Queue *q, void *ctx), void *ctx);

  std::mutex mu_;              // guards every field below but tag_ (the seed's hMu)
  uint64_t *table_ = nullptr;  // see the class comment
  size_t mask_ = 0;            // capacity - 1 (capacity is a power of two)
  // While a doubling moves entries: the previous table, whose slots below
  // old_next_ were moved (their entries are left there, so that the probe
  // runs through them stay whole, and are skipped), and the others not yet.
  uint64_t *old_ = nullptr;
  size_t old_mask_ = 0;
  size_t old_next_ = 0;
  size_t count_ = 0;          // queues in both tables
  uint32_t max_waiters_ = 0;  // 0: no cap
  KeyTag tag_;                // set by Create, then immutable
};

}  // namespace slotq

#endif  // SLOTQ_SRC_MANAGER_H
