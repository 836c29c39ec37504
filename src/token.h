// Token: one offer of one slot (slotq_token_t, the seed's slotToken).
#ifndef SLOTQ_SRC_TOKEN_H
#define SLOTQ_SRC_TOKEN_H

#include <stdint.h>

#include <atomic>

#include "slotq.h"
#include "wait.h"

namespace slotq {

class Queue;
class CancelToken;

// Payload bits of Token::word (see wait.h for the rest of the word).
constexpr uint32_t kStateMask = 0x7;  // a slotq_token_state
constexpr uint32_t kClosing = 0x8;    // the close callback was claimed (runs at most once)
constexpr uint32_t kClosed = 0x10;    // the close callback returned

/// Allocated by Queue::QueueSlot, freed with its last reference.
///
/// State changes: QUEUED <-> LENT only under the queue's lock; LENT ->
/// ACQUIRED by a lock-free compare-and-swap (so exactly one party wins);
/// QUEUED -> ACQUIRED, QUEUED/LENT -> EJECTED and QUEUED -> DISCARDED under
/// the queue's lock. ACQUIRED, EJECTED and DISCARDED are final.
struct Token {
  std::atomic<uint32_t> word{0};  // state | kClosing | kClosed, sleepers, epoch
  std::atomic<uint32_t> refs{2};  // the container's reference + the queue side's
  uint64_t id = 0;                // set under the queue's lock, then immutable
  void *const slot;
  const slotq_slot_ops *const ops;
  Queue *const queue;  // its memory outlives the token (Queue::TokenFreed)
  // The stack's links (newer: towards the top), guarded by queue->mu_.
  Token *newer = nullptr;
  Token *older = nullptr;

  Token(void *s, const slotq_slot_ops *o, Queue *q) : slot(s), ops(o), queue(q) {}

  int State() const { return static_cast<int>(word.load(std::memory_order_acquire) & kStateMask); }

  void Retain() { refs.fetch_add(1, std::memory_order_relaxed); }
  /// Drops a reference; the last one runs ops->release and frees the token.
  void Release();

  /// slotq_token_acquire.
  int Acquire();
  /// slotq_token_wait / slotq_token_wait_closed.
  int Wait(int64_t deadline, CancelToken *cancel, bool until_closed);
  /// slotq_token_exec.
  int Exec(CancelToken *cancel, void *call_arg, int *exec_rc);
  /// slotq_token_close: the caller gives an acquired slot back.
  int Close(int *close_rc);
  /// slotq_token_error.
  int Error() const { return ops->error != nullptr ? ops->error(slot) : 0; }

  /// Runs the close callback claimed with kClosing, then marks kClosed and
  /// wakes waiters. Called without any lock held. Returns the callback's
  /// value. `fire_trigger`: the token was ejected or discarded, so this is
  /// also when its trigger fires (ops->trigger).
  int RunClose(bool fire_trigger);
  /// An eject took the token off the stack and is running its close
  /// callback; its state still reads QUEUED until FinishEject. Only under
  /// the queue's lock (the links are guarded by it).
  bool Claimed() const { return newer == this; }
  void MarkClaimed() { newer = older = this; }
  /// The rest of ejecting a claimed token: runs the close callback, then
  /// publishes EJECTED and closed in one step (the trigger fires).
  void FinishEject();
  /// Calls ops->trigger, if any, with the token's final state.
  void FireTrigger(int state) {
    if (ops->trigger != nullptr) ops->trigger(slot, state);
  }
};

static_assert(sizeof(Token) <= 56, "a queued slot must stay within a 64-byte malloc chunk");

}  // namespace slotq

#endif  // SLOTQ_SRC_TOKEN_H
