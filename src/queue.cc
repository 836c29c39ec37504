#include "queue.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <new>

#include "cancel.h"
#include "clock.h"
#include "dequeuer.h"
#include "object_cache.h"
#include "queue_arena.h"
#include "signal_listener.h"
#include "token.h"

namespace slotq {

Queue *Queue::Create(const void *key, size_t key_len) {
  static_assert(sizeof(Queue) <= 152, "a queue stays within 152 bytes (the memory budget)");
  static_assert(offsetof(Queue, waiters_) + sizeof(Dequeuer *) <= 64,
                "the fields a get, an offer and a take touch share the first 64 bytes");
  if (key_len > SLOTQ_MAX_QUEUE_KEY) return nullptr;
  uint32_t index = QueueArena::kNone;
  void *mem =
      key_len <= kInlineKey ? QueueArena::Allocate(&index) : malloc(sizeof(Queue) + key_len);
  if (mem == nullptr) return nullptr;
  Queue *q = new (mem) Queue();
  q->arena_index_ = index;
  q->key_len_ = static_cast<uint8_t>(key_len);
  unsigned char *dst = key_len <= kInlineKey ? q->key_ : reinterpret_cast<unsigned char *>(q + 1);
  if (key_len != 0) memcpy(dst, key, key_len);
  return q;
}

void Queue::ReleaseHandle() {
  if (handles_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  Shutdown();
  // Nobody can queue a slot any more, so the count of tokens made is final;
  // read it while the queue is surely still ours (before the step below,
  // which lets the last token free it). freed_ then counts down from it
  // and holds exactly kHandlesGone once every token was freed.
  uint32_t made = ReadMadeAfterShutdown();
  uint32_t step = kHandlesGone - made * kFreedOne;
  if (freed_.fetch_add(step, std::memory_order_acq_rel) + step == kHandlesGone) Destroy();
}

// After its step on freed_ a caller touches the queue only to free it: the
// step that leaves exactly kHandlesGone is the last, and another may free
// the queue right after any other.
void Queue::TokenFreed() {
  if (freed_.fetch_add(kFreedOne, std::memory_order_acq_rel) + kFreedOne == kHandlesGone) {
    Destroy();
  }
}

uint32_t Queue::ReadMadeAfterShutdown() const { return static_cast<uint32_t>(next_id_); }

void Queue::Destroy() {
  uint32_t index = arena_index_;
  this->~Queue();
  if (index != QueueArena::kNone) {
    QueueArena::Free(index);
  } else {
    free(this);
  }
}

// Nobody holds a handle any more, so nobody can queue, dequeue or eject here:
// discard the idle slots so that their containers learn it.
void Queue::Shutdown() {
  if (sigword_.load(std::memory_order_acquire) & kHasListener) DropSignalListener(this);
  Token *list;
  {
    MutexLock l(&mu_);
    list = top_;
    top_ = nullptr;
    for (Token *t = list; t != nullptr; t = t->older) {
      SetPayloadKeepSleepers(&t->word, kStateMask | kClosing, SLOTQ_TOKEN_DISCARDED | kClosing);
    }
  }
  // The detached list is reachable from this thread only (an acquire of a
  // discarded token stops at its state), so its links need no lock now.
  while (list != nullptr) {
    Token *t = list;
    list = t->older;
    t->newer = t->older = nullptr;
    t->RunClose(true);
    t->Release();  // the stack's reference
  }
}

void Queue::Push(Token *t) {
  t->newer = nullptr;
  t->older = top_;
  if (top_ != nullptr) top_->newer = t;
  top_ = t;
}

Token *Queue::Pop() {
  Token *t = top_;
  if (t != nullptr) Unlink(t);
  return t;
}

Token *Queue::PopLent() {
  Token *t = Pop();
  // Lending does not fire the trigger: a container waiting on it sleeps on.
  if (t != nullptr) SetPayloadKeepSleepers(&t->word, kStateMask, SLOTQ_TOKEN_LENT);
  return t;
}

void Queue::Unlink(Token *t) {
  if (t->newer != nullptr)
    t->newer->older = t->older;
  else
    top_ = t->older;
  if (t->older != nullptr) t->older->newer = t->newer;
  t->newer = t->older = nullptr;
}

void Queue::HandOrPush(Token *t, PendingWake *wake) {
  Dequeuer *d = waiters_;
  if (d == nullptr) {
    // A fresh token is QUEUED (0) already, and one given back was made
    // QUEUED by GiveBack: pushing needs no atomic.
    Push(t);
    return;
  }
  Delist(d);
  SetPayloadKeepSleepers(&t->word, kStateMask, SLOTQ_TOKEN_LENT);
  d->handed_ = t;
  if (d->parker_ != nullptr) {
    wake->word = &d->parker_->word;
    wake->old = SetPayload(wake->word, kPayloadMask, kParkHanded);
  }
  if (d->armed_) {
    d->armed_ = false;
    d->notifying_++;
    wake->notify = d;
  }
}

void PendingWake::Deliver() {
  if (word != nullptr) WakeIfSleepers(word, old);
  if (notify != nullptr) notify->Notify();
}

void Queue::Enlist(Dequeuer *d) {
  if (waiters_ == nullptr) {
    d->prev_ = d->next_ = d;
    waiters_ = d;
  } else {
    Dequeuer *tail = waiters_->prev_;
    d->prev_ = tail;
    d->next_ = waiters_;
    tail->next_ = d;
    waiters_->prev_ = d;
  }
  d->enlisted_ = true;
}

void Queue::Delist(Dequeuer *d) {
  if (d->next_ == d) {
    waiters_ = nullptr;
  } else {
    d->prev_->next_ = d->next_;
    d->next_->prev_ = d->prev_;
    if (waiters_ == d) waiters_ = d->next_;
  }
  d->prev_ = d->next_ = nullptr;
  d->enlisted_ = false;
}

Token *Queue::GiveBack(Token **slot, PendingWake *wake) {
  Token *t = *slot;
  if (t == nullptr) return nullptr;
  *slot = nullptr;
  uint32_t v = t->word.load(std::memory_order_acquire);
  while ((v & kStateMask) == SLOTQ_TOKEN_LENT) {
    // Races only with the lock-free LENT -> ACQUIRED of Token::Acquire.
    if (t->word.compare_exchange_weak(v, (v & ~kStateMask) | SLOTQ_TOKEN_QUEUED,
                                      std::memory_order_acq_rel)) {
      HandOrPush(t, wake);
      return nullptr;
    }
  }
  return t;  // acquired or ejected meanwhile: d's reference is to be dropped
}

int Queue::QueueSlot(void *slot, const slotq_slot_ops *ops, Token **out) {
  void *mem = ObjectCache<Token>::Allocate();
  if (mem == nullptr) return SLOTQ_ENOMEM;
  Token *t = new (mem) Token(slot, ops, this);
  PendingWake wake;
  {
    MutexLock l(&mu_);
    t->id = next_id_++;
    HandOrPush(t, &wake);
  }
  wake.Deliver();
  *out = t;
  return SLOTQ_OK;
}

int Queue::Eject(Token *t) {
  if (t->queue != this) return SLOTQ_EWRONGQUEUE;
  bool was_queued = false;
  {
    MutexLock l(&mu_);
    uint32_t v = t->word.load(std::memory_order_acquire);
    for (;;) {
      uint32_t st = v & kStateMask;
      if (st == SLOTQ_TOKEN_QUEUED) {
        if (t->Claimed()) return SLOTQ_EGONE;  // another eject is closing it now
        // Everything else that moves a queued token holds this lock, so
        // taking it off the stack claims it; its state is published in
        // one step once the close callback ran (FinishEject).
        Unlink(t);
        t->MarkClaimed();
        was_queued = true;
        break;
      }
      if (st != SLOTQ_TOKEN_LENT) return SLOTQ_EGONE;
      // Lent: races with a lock-free acquire, so claim it by compare-and-swap.
      // The trigger fires only once close has run (RunClose), so sleepers
      // stay asleep for now.
      if (t->word.compare_exchange_weak(v, (v & ~kStateMask) | SLOTQ_TOKEN_EJECTED | kClosing,
                                        std::memory_order_acq_rel)) {
        break;  // it stays referenced by its dequeuer, which drops it later
      }
    }
    ejected_++;
  }
  if (was_queued) {
    t->FinishEject();
    t->Release();  // the stack's reference
  } else {
    t->RunClose(true);
  }
  return SLOTQ_OK;
}

int Queue::AcquireQueued(Token *t) {
  uint32_t old = 0;
  bool won = false;
  {
    MutexLock l(&mu_);
    if (t->State() == SLOTQ_TOKEN_QUEUED) {
      if (t->Claimed()) return SLOTQ_EGONE;  // being ejected
      Unlink(t);
      old = SetPayload(&t->word, kStateMask, SLOTQ_TOKEN_ACQUIRED);
      acquired_.fetch_add(1, std::memory_order_relaxed);
      won = true;
    }
  }
  // Lent meanwhile (acquired lock-free there) or already final (fails there).
  if (!won) return t->Acquire();
  WakeIfSleepers(&t->word, old);  // t is alive: the caller holds a reference
  t->FireTrigger(SLOTQ_TOKEN_ACQUIRED);
  t->Release();  // the stack's reference
  return SLOTQ_OK;
}

size_t Queue::Len() const {
  MutexLock l(&mu_);
  size_t n = 0;
  for (Token *t = top_; t != nullptr; t = t->older) n++;
  return n;
}

Queue::Totals Queue::ReadTotals() const {
  MutexLock l(&mu_);
  uint64_t after_use = closed_after_use_.load(std::memory_order_relaxed);
  return Totals{next_id_, acquired_.load(std::memory_order_relaxed), ejected_,
                ejected_ + after_use};
}

int Queue::EnterState(int state) {
  MutexLock l(&mu_);
  return states_.Enter(state);
}

int Queue::EnterWaiterCapped(uint32_t max_waiters) {
  MutexLock l(&mu_);
  if (max_waiters != 0 && states_.n[SLOTQ_WAITER] >= max_waiters) return SLOTQ_EOVERLOAD;
  return states_.Enter(SLOTQ_WAITER);
}

int Queue::ExitState(int state) {
  MutexLock l(&mu_);
  return states_.Exit(state);
}

int Queue::ExitStateLatency(int state, uint64_t latency) {
  MutexLock l(&mu_);
  int rc = states_.Exit(state);
  if (rc == SLOTQ_OK) latencies_.Record(state, latency);
  return rc;
}

void Queue::RecordLatency(int state, uint64_t latency) {
  MutexLock l(&mu_);
  latencies_.Record(state, latency);
}

void Queue::Snapshot(slotq_stats *out) const {
  MutexLock l(&mu_);
  slotq::Snapshot(states_, latencies_, out);
}

void Queue::SnapshotWithIdle(slotq_stats *out, size_t *idle_slots) const {
  MutexLock l(&mu_);
  slotq::Snapshot(states_, latencies_, out);
  size_t n = 0;
  for (Token *t = top_; t != nullptr; t = t->older) n++;
  *idle_slots = n;
}

bool Queue::Idle() const {
  MutexLock l(&mu_);
  return states_.Idle();
}

bool Queue::Signal() {
  uint32_t v = sigword_.load(std::memory_order_relaxed);
  for (;;) {
    if (v & kSignalPending) return false;
    if (sigword_.compare_exchange_weak(v, (v | kSignalPending) & ~kSleepers,
                                       std::memory_order_acq_rel)) {
      WakeIfSleepers(&sigword_, v);
      if (v & kHasListener) NotifySignalListener(this);
      return true;
    }
  }
}

void Queue::SetHasListener(bool has) {
  uint32_t v = sigword_.load(std::memory_order_relaxed);
  uint32_t bit = has ? kHasListener : 0;
  while (!sigword_.compare_exchange_weak(v, (v & ~kHasListener) | bit, std::memory_order_acq_rel)) {
  }
}

int Queue::WaitSignal(int64_t deadline, CancelToken *cancel) {
  for (;;) {
    int rc = BlockOn(
        WaitKind::kSignal, &sigword_, [](uint32_t p) { return (p & kSignalPending) != 0; },
        deadline, cancel, nullptr);
    if (rc != SLOTQ_OK) return rc;
    // Consume it; another waiter may have been quicker.
    uint32_t v = sigword_.load(std::memory_order_acquire);
    while (v & kSignalPending) {
      if (sigword_.compare_exchange_weak(v, v & ~kSignalPending, std::memory_order_acq_rel)) {
        return SLOTQ_OK;
      }
    }
  }
}

}  // namespace slotq
