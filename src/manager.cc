#include "manager.h"

#include <stdlib.h>
#include <string.h>

#include <new>

#include "queue.h"

namespace slotq {
namespace {

constexpr size_t kInitialCapacity = 16;

inline size_t HomeSlot(const unsigned char *key, size_t mask) {
  uint64_t h;
  memcpy(&h, key, sizeof(h));
  return static_cast<size_t>(h) & mask;
}

inline bool SameKey(const Queue *q, const unsigned char *key) {
  static_assert(SLOTQ_KEY_SIZE == 20, "compared as 8 + 8 + 4 bytes");
  if (q->key_len() != SLOTQ_KEY_SIZE) return false;
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

}  // namespace

Manager *Manager::Create() {
  Manager *m = new (std::nothrow) Manager();
  if (m == nullptr) return nullptr;
  m->table_ = static_cast<Queue **>(calloc(kInitialCapacity, sizeof(Queue *)));
  if (m->table_ == nullptr) {
    delete m;
    return nullptr;
  }
  m->mask_ = kInitialCapacity - 1;
  return m;
}

Manager::~Manager() { free(table_); }

void Manager::Destroy() {
  // No other thread may use the manager now (the header's contract), so the
  // queues are released without the lock: releasing may run callbacks.
  for (size_t i = 0; i <= mask_; i++) {
    if (table_[i] != nullptr) table_[i]->ReleaseHandle();
  }
  delete this;
}

size_t Manager::Find(const unsigned char *key) const {
  size_t i = HomeSlot(key, mask_);
  while (table_[i] != nullptr && !SameKey(table_[i], key)) i = (i + 1) & mask_;
  return i;
}

bool Manager::Grow() {
  size_t cap = (mask_ + 1) * 2;
  Queue **bigger = static_cast<Queue **>(calloc(cap, sizeof(Queue *)));
  if (bigger == nullptr) return false;
  for (size_t i = 0; i <= mask_; i++) {
    Queue *q = table_[i];
    if (q == nullptr) continue;
    size_t j = HomeSlot(q->key(), cap - 1);
    while (bigger[j] != nullptr) j = (j + 1) & (cap - 1);
    bigger[j] = q;
  }
  free(table_);
  table_ = bigger;
  mask_ = cap - 1;
  return true;
}

int Manager::Get(const slotq_key &key, Queue **out, int *is_new) {
  std::lock_guard<std::mutex> l(mu_);
  size_t i = Find(key.bytes);
  Queue *q = table_[i];
  bool created = false;
  if (q == nullptr) {
    if ((count_ + 1) * 4 > (mask_ + 1) * 3) {
      if (!Grow()) return SLOTQ_ENOMEM;
      i = Find(key.bytes);
    }
    q = Queue::Create(key.bytes, SLOTQ_KEY_SIZE);
    if (q == nullptr) return SLOTQ_ENOMEM;
    table_[i] = q;  // the table keeps the creation handle
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
    size_t i = Find(q->key());
    if (table_[i] != q) return SLOTQ_ENOTFOUND;
    if (!q->Idle()) return SLOTQ_EBUSY;
    // Backward-shift deletion keeps every probe chain unbroken.
    table_[i] = nullptr;
    count_--;
    for (size_t j = (i + 1) & mask_; table_[j] != nullptr; j = (j + 1) & mask_) {
      size_t home = HomeSlot(table_[j]->key(), mask_);
      // Move table_[j] into the hole if its home is not in (i, j].
      bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        table_[i] = table_[j];
        table_[j] = nullptr;
        i = j;
      }
    }
  }
  // The caller still holds a handle, so this never shuts the queue down here.
  q->ReleaseHandle();
  return SLOTQ_OK;
}

size_t Manager::Count() {
  std::lock_guard<std::mutex> l(mu_);
  return count_;
}

}  // namespace slotq

namespace slotq {

void Manager::Collect(std::vector<Queue *> *out) {
  std::lock_guard<std::mutex> l(mu_);
  out->reserve(out->size() + count_);
  for (size_t i = 0; i <= mask_; i++) {
    if (table_[i] == nullptr) continue;
    table_[i]->RetainHandle();
    out->push_back(table_[i]);
  }
}

}  // namespace slotq
