#include "manager.h"

#include <stdlib.h>
#include <string.h>

#include <new>

#include "queue.h"
#include "queue_arena.h"

namespace slotq {
namespace {

constexpr size_t kInitialCapacity = 16;
// Old slots moved to the new table by each get during a doubling: one cache
// line of them. A doubling starts at 13/16 of the old capacity C and the new
// table doubles again at 13/16 of 2C, so the move must end within 13/16 C
// creations; at 8 slots a get it ends within C/8 gets.
constexpr size_t kMoveStep = 8;

// An entry: (tag << 32) | (arena number + 1); 0 is an empty slot.
inline uint64_t MakeEntry(uint32_t tag, uint32_t index) {
  return (static_cast<uint64_t>(tag) << 32) | (static_cast<uint64_t>(index) + 1);
}
// An entry deleted from the old table during a doubling: not empty (the
// probe runs through it go on) and no queue's (its low half is 0).
constexpr uint64_t kDeleted = ~static_cast<uint64_t>(0) << 32;
inline bool Live(uint64_t e) { return static_cast<uint32_t>(e) != 0; }
inline uint32_t EntryTag(uint64_t e) { return static_cast<uint32_t>(e >> 32); }
inline Queue *EntryQueue(uint64_t e) {
  return static_cast<Queue *>(QueueArena::At(static_cast<uint32_t>(e) - 1));
}
// Tables up to 2^32 slots: the home slot comes from the tag alone.
inline size_t HomeSlot(uint32_t tag, size_t mask) { return static_cast<size_t>(tag) & mask; }

inline bool SameKey(const Queue *q, const unsigned char *key) {
  static_assert(SLOTQ_KEY_SIZE == 20, "compared as 8 + 8 + 4 bytes");
  const unsigned char *k = q->key();
  uint64_t a0, a1, b0, b1;
  uint32_t a2, b2;
  memcpy(&a0, k, 8);
  memcpy(&a1, k + 8, 8);
  memcpy(&a2, k + 16, 4);
  memcpy(&b0, key, 8);
  memcpy(&b1, key + 8, 8);
  memcpy(&b2, key + 16, 4);
  return ((a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2)) == 0;
}

// A zeroed table of `cap` entries. Its pages fault in as the move and the
// gets first write them: faulting in all of a 16 MiB table at once took
// ~4 ms under the lock on the 2-vCPU VM, and the gets cost the same either
// way (bench mgr_get, F=100000, interleaved). Advising a large table for
// huge pages made the move's worst get 16 to 26 ms there: a fresh 2 MiB
// page can cost that much on this VM.
uint64_t *NewTable(size_t cap) { return static_cast<uint64_t *>(calloc(cap, sizeof(uint64_t))); }

}  // namespace

Manager *Manager::Create() {
  Manager *m = new (std::nothrow) Manager();
  if (m == nullptr) return nullptr;
  m->table_ = NewTable(kInitialCapacity);
  if (m->table_ == nullptr) {
    delete m;
    return nullptr;
  }
  m->mask_ = kInitialCapacity - 1;
  m->tag_ = KeyTag::Random();
  return m;
}

Manager::~Manager() {
  free(table_);
  free(old_);
}

void Manager::Destroy() {
  // No other thread may use the manager now (the header's contract), so the
  // queues are released without the lock: releasing may run callbacks.
  ForEachQueueUnlocked([](Queue *q, void *) { q->ReleaseHandle(); }, nullptr);
  delete this;
}

void Manager::ForEachQueueUnlocked(void (*visit)(Queue *q, void *ctx), void *ctx) {
  for (size_t i = 0; i <= mask_; i++) {
    if (table_[i] != 0) visit(EntryQueue(table_[i]), ctx);
  }
  for (size_t i = old_next_; old_ != nullptr && i <= old_mask_; i++) {
    if (Live(old_[i])) visit(EntryQueue(old_[i]), ctx);
  }
}

size_t Manager::Find(const unsigned char *key, uint32_t tag) const {
  size_t i = HomeSlot(tag, mask_);
  for (uint64_t e; (e = table_[i]) != 0; i = (i + 1) & mask_) {
    if (EntryTag(e) == tag && SameKey(EntryQueue(e), key)) break;
  }
  return i;
}

uint64_t *Manager::FindOld(const unsigned char *key, uint32_t tag) const {
  // A slot below old_next_ was moved: its entry is in table_ now, or was
  // deleted from there, so only the run's other slots count.
  size_t i = HomeSlot(tag, old_mask_);
  for (uint64_t e; (e = old_[i]) != 0; i = (i + 1) & old_mask_) {
    if (i >= old_next_ && EntryTag(e) == tag && Live(e) && SameKey(EntryQueue(e), key)) {
      return &old_[i];
    }
  }
  return nullptr;
}

void Manager::Place(uint64_t entry) {
  size_t j = HomeSlot(EntryTag(entry), mask_);
  while (table_[j] != 0) j = (j + 1) & mask_;
  table_[j] = entry;
}

void Manager::Migrate(size_t slots) {
  size_t end = old_mask_ - old_next_ < slots ? old_mask_ + 1 : old_next_ + slots;
  for (; old_next_ < end; old_next_++) {
    if (Live(old_[old_next_])) Place(old_[old_next_]);
  }
  if (old_next_ > old_mask_) {
    free(old_);
    old_ = nullptr;
    old_mask_ = old_next_ = 0;
  }
}

bool Manager::Grow() {
  // Never reached with a move in progress when every creation moves a step
  // (kMoveStep), but a table must never be left half moved.
  if (old_ != nullptr) Migrate(SIZE_MAX);
  size_t cap = (mask_ + 1) * 2;
  if (cap - 1 > UINT32_MAX) return false;  // homes come from 32 bits
  uint64_t *bigger = NewTable(cap);
  if (bigger == nullptr) return false;
  old_ = table_;
  old_mask_ = mask_;
  old_next_ = 0;
  table_ = bigger;
  mask_ = cap - 1;
  return true;
}

int Manager::Get(const slotq_key &key, Queue **out, int *is_new) {
  uint32_t tag = tag_(key.bytes);  // the seed is immutable: no lock needed
  std::lock_guard<std::mutex> l(mu_);
  if (old_ != nullptr) Migrate(kMoveStep);  // before Find: it fills slots
  size_t i = Find(key.bytes, tag);
  uint64_t *found = table_[i] != 0    ? &table_[i]
                    : old_ != nullptr ? FindOld(key.bytes, tag)
                                      : nullptr;
  Queue *q;
  bool created = false;
  if (found != nullptr) {
    q = EntryQueue(*found);
  } else {
    // Double when more than 13/16 full (Go's maps grow at 6.5/8): a probe
    // compares 8-byte entries in a row, so a longer run costs a cache line
    // more at worst, while a sparser table misses the cache (and, when new,
    // faults in its pages) more often once it outgrows the caches.
    if ((count_ + 1) * 16 > (mask_ + 1) * 13) {
      if (!Grow()) return SLOTQ_ENOMEM;
      i = Find(key.bytes, tag);
    }
    q = Queue::Create(key.bytes, SLOTQ_KEY_SIZE);  // an inline key: in the arena
    if (q == nullptr) return SLOTQ_ENOMEM;
    table_[i] = MakeEntry(tag, q->arena_index());  // keeps the creation handle
    count_++;
    created = true;
  }
  int rc = q->EnterWaiterCapped(max_waiters_);
  if (rc != SLOTQ_OK) return rc;  // a new queue stays: it is idle and deletable
  q->RetainHandle();
  *out = q;
  if (is_new != nullptr) *is_new = created ? 1 : 0;
  return SLOTQ_OK;
}

int Manager::Delete(Queue *q) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (q->key_len() != SLOTQ_KEY_SIZE) return SLOTQ_ENOTFOUND;
    // Deletes move a step too, so that a move ends (and the old table is
    // freed) even when no get comes after a doubling.
    if (old_ != nullptr) Migrate(kMoveStep);  // before Find, as in Get
    uint32_t tag = tag_(q->key());
    size_t i = Find(q->key(), tag);
    uint64_t *old = table_[i] == 0 && old_ != nullptr ? FindOld(q->key(), tag) : nullptr;
    uint64_t e = old != nullptr ? *old : table_[i];
    if (e == 0 || EntryQueue(e) != q) return SLOTQ_ENOTFOUND;
    if (!q->Idle()) return SLOTQ_EBUSY;
    count_--;
    if (old != nullptr) {
      *old = kDeleted;  // a slot not moved yet: the move skips it
    } else {
      RemoveAt(i);
    }
  }
  // The caller still holds a handle, so this never shuts the queue down here.
  q->ReleaseHandle();
  return SLOTQ_OK;
}

void Manager::RemoveAt(size_t i) {
  // Backward-shift deletion keeps every probe chain unbroken.
  table_[i] = 0;
  for (size_t j = (i + 1) & mask_; table_[j] != 0; j = (j + 1) & mask_) {
    size_t home = HomeSlot(EntryTag(table_[j]), mask_);
    // Move table_[j] into the hole if its home is not in (i, j].
    bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      table_[i] = table_[j];
      table_[j] = 0;
      i = j;
    }
  }
}

size_t Manager::Count() {
  std::lock_guard<std::mutex> l(mu_);
  return count_;
}

Manager::ProbeLengths Manager::Probes() {
  std::lock_guard<std::mutex> l(mu_);
  if (old_ != nullptr) Migrate(SIZE_MAX);  // the runs of the table that stays
  size_t longest = 0, total = 0;
  for (size_t i = 0; i <= mask_; i++) {
    if (table_[i] == 0) continue;
    size_t run = ((i - HomeSlot(EntryTag(table_[i]), mask_)) & mask_) + 1;
    if (run > longest) longest = run;
    total += run;
  }
  return ProbeLengths{longest,
                      count_ != 0 ? static_cast<double>(total) / static_cast<double>(count_) : 0.0};
}

void Manager::ForEachQueue(void (*visit)(Queue *q, void *ctx), void *ctx) {
  std::lock_guard<std::mutex> l(mu_);
  ForEachQueueUnlocked(visit, ctx);
}

}  // namespace slotq
