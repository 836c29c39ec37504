// Queue: the slot queue of one function (slotq_queue_t, the seed's slotQueue).
#ifndef SLOTQ_SRC_QUEUE_H
#define SLOTQ_SRC_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include "annotations.h"
#include "mutex.h"
#include "slotq.h"
#include "stats.h"
#include "wait.h"

namespace slotq {

struct Token;
class Dequeuer;
class CancelToken;

/// A wake decided under a lock and delivered after it is released.
struct PendingWake {
  std::atomic<uint32_t> *word = nullptr;  // a Parker's word
  uint32_t old = 0;                       // the word before the change
  Dequeuer *notify = nullptr;             // an armed dequeuer (its notifying_ was raised)
  void Deliver();
};

/// Payload bits of Queue::sigword_.
constexpr uint32_t kSignalPending = 0x1;
constexpr uint32_t kHasListener = 0x2;  // see signal_listener.h

/// Two counts keep a queue safe to share:
///  - handles_: users, managers and dequeuers. When it reaches zero the
///    queue shuts down (slots still on the stack are discarded), because
///    nobody can reach it any more.
///  - memory: the queue's memory outlives every token it made, so a token
///    may always touch its queue. It is freed once the handles are gone and
///    as many tokens were freed (freed_) as were made (next_id_). Tokens
///    are counted where they are made, under the lock that making one holds
///    anyway, so queueing a slot costs no atomic for it.
///
/// Invariant: a dequeuer is in waiters_ only while the stack is empty, since
/// a slot offered while a dequeuer waits goes straight to that dequeuer.
class Queue {
 public:
  /// A queue with one handle, or nullptr when out of memory. key_len <= 64.
  static Queue *Create(const void *key, size_t key_len);

  void RetainHandle() { handles_.fetch_add(1, std::memory_order_relaxed); }
  void ReleaseHandle();
  /// Called by a token's last Release, once the token is gone.
  void TokenFreed();

  const unsigned char *key() const {
    return key_len_ <= kInlineKey ? key_ : reinterpret_cast<const unsigned char *>(this + 1);
  }
  size_t key_len() const { return key_len_; }
  /// The queue's number in QueueArena, or QueueArena::kNone (a key too long
  /// to be inline). Immutable.
  uint32_t arena_index() const { return arena_index_; }

  /// slotq_queue_slot.
  int QueueSlot(void *slot, const slotq_slot_ops *ops, Token **out);
  /// slotq_eject.
  int Eject(Token *t);
  /// Acquire of a token that is still on the stack (rare: callers normally
  /// acquire what a dequeuer lent them).
  int AcquireQueued(Token *t);
  /// Slots on the stack. O(slots).
  size_t Len() const;

  int EnterState(int state);
  int ExitState(int state);
  int ExitStateLatency(int state, uint64_t latency);
  void RecordLatency(int state, uint64_t latency);
  void Snapshot(slotq_stats *out) const;
  /// A snapshot and the number of idle slots, taken together.
  void SnapshotWithIdle(slotq_stats *out, size_t *idle_slots) const;
  bool Idle() const;
  /// Under the manager's lock: counts a waiter unless `max_waiters` (0: no
  /// cap) are already waiting.
  int EnterWaiterCapped(uint32_t max_waiters);

  /// slotq_queue_signal: true if this call made the signal pending.
  bool Signal();
  /// slotq_queue_wait_signal.
  int WaitSignal(int64_t deadline, CancelToken *cancel);
  /// Marks whether the signal listener table has an entry for this queue.
  void SetHasListener(bool has);
  /// Whether a signal is pending (not yet consumed).
  bool SignalPending() const {
    return (sigword_.load(std::memory_order_acquire) & kSignalPending) != 0;
  }

  /// Slot counters for metrics, read together.
  struct Totals {
    uint64_t queued, acquired, ejected, closed;
  };
  Totals ReadTotals() const;
  /// Counts a slot given back after use (Token::Close, which holds no lock).
  void CountClosedAfterUse() { closed_after_use_.fetch_add(1, std::memory_order_relaxed); }
  /// Token::Acquire won a lent token (the one lock-free acquisition).
  void CountAcquired() { acquired_.fetch_add(1, std::memory_order_relaxed); }

 private:
  friend class Dequeuer;
  Queue() = default;
  ~Queue() = default;

  void Shutdown();
  // next_id_ without the lock, once the last handle is gone: every
  // QueueSlot happened before (each held a handle), and none can follow.
  uint32_t ReadMadeAfterShutdown() const SLOTQ_NO_THREAD_SAFETY_ANALYSIS;
  void Destroy();
  // Stack operations, all under mu_.
  void Push(Token *t) SLOTQ_REQUIRES(mu_);
  Token *Pop() SLOTQ_REQUIRES(mu_);
  // Pops the newest idle slot and marks it lent (the stack's reference goes
  // to the taker), or returns nullptr.
  Token *PopLent() SLOTQ_REQUIRES(mu_);
  void Unlink(Token *t) SLOTQ_REQUIRES(mu_);
  // Gives `t` (state QUEUED or fresh) to the longest-waiting dequeuer, or
  // pushes it on the stack. The queue side's reference goes with it.
  void HandOrPush(Token *t, PendingWake *wake) SLOTQ_REQUIRES(mu_);
  void Enlist(Dequeuer *d) SLOTQ_REQUIRES(mu_);
  void Delist(Dequeuer *d) SLOTQ_REQUIRES(mu_);
  // Takes back a token a dequeuer holds (*slot: its lent_ or handed_) and
  // clears *slot. Returns it if it can't go back to the queue (acquired or
  // ejected meanwhile): the caller then drops the dequeuer's reference.
  Token *GiveBack(Token **slot, PendingWake *wake) SLOTQ_REQUIRES(mu_);

  static constexpr size_t kInlineKey = SLOTQ_KEY_SIZE;  // longer keys follow the object
  static constexpr uint32_t kHandlesGone = 0x1;         // in freed_
  static constexpr uint32_t kFreedOne = 0x2;            // one token, in freed_

  // The first 64 bytes hold everything a get, an offer and a take touch, so
  // that with many queues each of them costs at most two adjacent cache
  // lines of the queue (arena blocks are 152 bytes apart, not line-aligned:
  // aligning them would cost 40 bytes a queue).
  uint8_t key_len_ = 0;
  unsigned char key_[kInlineKey] = {};
  std::atomic<uint32_t> handles_{1};
  mutable Mutex mu_;  // guards the stack, waiters_, next_id_, the stats, the counters
  StateCounts states_ SLOTQ_GUARDED_BY(mu_);
  // Tokens freed, in units of kFreedOne (modulo 2^31); once the handles
  // are gone, minus the tokens made, plus kHandlesGone (see ReleaseHandle).
  std::atomic<uint32_t> freed_{0};
  Token *top_ SLOTQ_GUARDED_BY(mu_) = nullptr;         // newest idle slot
  Dequeuer *waiters_ SLOTQ_GUARDED_BY(mu_) = nullptr;  // circular, oldest first

  std::atomic<uint32_t> sigword_{0};  // kSignalPending, sleepers, epoch (see wait.h)
  uint32_t arena_index_ = 0;          // set by Create, then immutable
  // Also the count of tokens made, read without the lock once the handles
  // are gone (nobody can queue a slot then).
  uint64_t next_id_ SLOTQ_GUARDED_BY(mu_) = 0;
  Latencies latencies_ SLOTQ_GUARDED_BY(mu_);
  // Ejects are counted in Eject, under the lock it holds anyway.
  // Acquisitions are counted when they happen, most of them lock-free (a
  // lent token), which lets a dequeuer be freed without the lock
  // (Dequeuer::TryFreeUnshared). Slots discarded at shutdown are never
  // counted: nobody can read a queue's metrics once it shut down.
  std::atomic<uint64_t> acquired_{0};
  uint64_t ejected_ SLOTQ_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> closed_after_use_{0};
};

}  // namespace slotq

#endif  // SLOTQ_SRC_QUEUE_H
