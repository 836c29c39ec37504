#include "token.h"

#include "cancel.h"
#include "clock.h"
#include "object_cache.h"
#include "queue.h"

namespace slotq {

void Token::Release() {
  if (refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (ops->release != nullptr) ops->release(slot);
  Queue *q = queue;
  this->~Token();
  ObjectCache<Token>::Free(this);
  q->TokenFreed();
}

int Token::Acquire() {
  uint32_t v = word.load(std::memory_order_acquire);
  for (;;) {
    uint32_t st = v & kStateMask;
    if (st == SLOTQ_TOKEN_QUEUED) return queue->AcquireQueued(this);
    if (st != SLOTQ_TOKEN_LENT) return SLOTQ_EGONE;
    // The one lock-free transition: exactly one of several acquirers, or an
    // acquirer and an eject (which changes LENT under the queue's lock with a
    // compare-and-swap too), wins.
    if (word.compare_exchange_weak(v, (v & ~(kStateMask | kSleepers)) | SLOTQ_TOKEN_ACQUIRED,
                                   std::memory_order_acq_rel, std::memory_order_acquire)) {
      queue->CountAcquired();
      WakeIfSleepers(&word, v);
      FireTrigger(SLOTQ_TOKEN_ACQUIRED);
      return SLOTQ_OK;
    }
  }
}

int Token::Wait(int64_t deadline, CancelToken *cancel, bool until_closed) {
  if (until_closed) {
    return BlockOn(
        WaitKind::kClosed, &word, [](uint32_t p) { return (p & kClosed) != 0; }, deadline, cancel,
        nullptr);
  }
  // The trigger: acquired, or ejected/discarded once the close callback ran
  // (the seed closes the slot before it closes the trigger channel).
  return BlockOn(
      WaitKind::kTrigger, &word,
      [](uint32_t p) {
        uint32_t st = p & kStateMask;
        return st == SLOTQ_TOKEN_ACQUIRED || (st > SLOTQ_TOKEN_ACQUIRED && (p & kClosed) != 0);
      },
      deadline, cancel, nullptr);
}

int Token::Exec(CancelToken *cancel, void *call_arg, int *exec_rc) {
  uint32_t v = word.load(std::memory_order_acquire);
  if ((v & kStateMask) != SLOTQ_TOKEN_ACQUIRED || (v & kClosing) != 0) return SLOTQ_ESTATE;
  int rc = queue->EnterState(SLOTQ_RUNNER);
  if (rc != SLOTQ_OK) return rc;
  int64_t start = NowNs();
  int r = ops->exec != nullptr
              ? ops->exec(slot, reinterpret_cast<slotq_cancel_t *>(cancel), call_arg)
              : 0;
  // Ignore a failure here: it means the host exited our Runner state itself.
  (void)queue->ExitStateLatency(SLOTQ_RUNNER, static_cast<uint64_t>(NowNs() - start));
  if (exec_rc != nullptr) *exec_rc = r;
  return r == 0 ? SLOTQ_OK : SLOTQ_ECALLBACK;
}

int Token::Close(int *close_rc) {
  // Without a close callback, claiming the close and publishing it closed
  // are one step: nothing runs in between.
  const bool no_callback = ops->close == nullptr;
  uint32_t v = word.load(std::memory_order_acquire);
  for (;;) {
    uint32_t st = v & kStateMask;
    if (st == SLOTQ_TOKEN_QUEUED || st == SLOTQ_TOKEN_LENT) return SLOTQ_ESTATE;
    if ((v & kClosing) != 0) return SLOTQ_EGONE;
    uint32_t next = no_callback ? (v & ~kSleepers) | kClosing | kClosed : v | kClosing;
    if (word.compare_exchange_weak(v, next, std::memory_order_acq_rel)) break;
  }
  queue->CountClosedAfterUse();
  int r = 0;
  if (no_callback) {
    WakeIfSleepers(&word, v);
  } else {
    r = RunClose(false);
  }
  if (close_rc != nullptr) *close_rc = r;
  return SLOTQ_OK;
}

void Token::FinishEject() {
  if (ops->close != nullptr) (void)ops->close(slot);  // its value goes nowhere (the seed's too)
  uint32_t old =
      SetPayload(&word, kStateMask | kClosing | kClosed, SLOTQ_TOKEN_EJECTED | kClosing | kClosed);
  WakeIfSleepers(&word, old);
  FireTrigger(SLOTQ_TOKEN_EJECTED);
}

int Token::RunClose(bool fire_trigger) {
  int r = ops->close != nullptr ? ops->close(slot) : 0;
  uint32_t old = SetPayload(&word, kClosed, kClosed);
  WakeIfSleepers(&word, old);
  if (fire_trigger) FireTrigger(static_cast<int>(old & kStateMask));
  return r;
}

}  // namespace slotq
