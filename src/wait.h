// How the library blocks: a 32-bit futex word shared by an object's state and
// the threads sleeping on it, plus cancellation tokens that can wake them.
//
// Word layout (every blocking wait in the library uses it):
//   bits 0..14   the owner's payload (a token's state, a parker's message, ...)
//   bit  15      kSleepers: a thread sleeps, or is about to, on this word
//   bits 16..31  an epoch that cancellation bumps to wake sleepers without
//                touching the payload (so a wake between a sleeper's last
//                check and its sleep is never lost)
//
// A thread that changes the payload clears kSleepers in the same atomic step
// and, if it was set, wakes the word (WakeIfSleepers). Because it wakes after
// the change, the word must stay valid until the wake: every word lives in an
// object the waker holds a reference to, or in a Parker, which is never freed.
#ifndef SLOTQ_SRC_WAIT_H
#define SLOTQ_SRC_WAIT_H

#include <sched.h>
#include <stdint.h>

#include <atomic>

#include "cancel.h"
#include "clock.h"
#include "futex.h"
#include "slotq.h"

namespace slotq {

constexpr uint32_t kPayloadMask = 0x7fff;
constexpr uint32_t kSleepers = 0x8000;
constexpr uint32_t kEpochUnit = 0x10000;

/// How long a spinning waiter spins on the CPU before it yields between checks.
constexpr int64_t kPauseSpinNs = 1000;

/// Replaces the payload bits selected by `mask` with `bits`, clears kSleepers,
/// and returns the previous word. Pair with WakeIfSleepers(old).
inline uint32_t SetPayload(std::atomic<uint32_t> *w, uint32_t mask, uint32_t bits) {
  uint32_t old = w->load(std::memory_order_relaxed);
  while (!w->compare_exchange_weak(old, (old & ~(mask | kSleepers)) | bits,
                                   std::memory_order_acq_rel, std::memory_order_relaxed)) {
  }
  return old;
}

/// Replaces the payload bits selected by `mask` with `bits` and keeps
/// kSleepers: for changes that must not wake anybody (sleepers keep sleeping,
/// and the change that will wake them still sees that they sleep).
inline void SetPayloadKeepSleepers(std::atomic<uint32_t> *w, uint32_t mask, uint32_t bits) {
  uint32_t old = w->load(std::memory_order_relaxed);
  while (!w->compare_exchange_weak(old, (old & ~mask) | bits, std::memory_order_acq_rel,
                                   std::memory_order_relaxed)) {
  }
}

/// Wakes the word's sleepers if `old` (the word before a SetPayload) had any.
inline void WakeIfSleepers(std::atomic<uint32_t> *w, uint32_t old) {
  if (old & kSleepers) FutexWakeAll(w);
}

/// A thread's private futex word for waits where the object waited on may be
/// freed by its owner right after the wait (dequeuers). Parkers are recycled
/// between threads but never freed, so a late wake is at worst spurious.
struct Parker {
  std::atomic<uint32_t> word{0};
  Parker *next_free = nullptr;  // in the global free list while unused
};

/// The calling thread's parker (taken from the pool on first use, returned
/// when the thread exits). nullptr only if memory is exhausted.
Parker *ThisThreadParker();

/// The kinds of waits, each with its own spin budget: they have very
/// different odds of ending soon (a container waiting for a short call to
/// end vs. a caller waiting behind fifteen others).
enum class WaitKind { kDequeue, kTrigger, kClosed, kSignal, kCallback, kCount };

/// Whether, and how long, a waiter spins before it sleeps. Spinning only
/// pays when the thread that will end the wait runs on another CPU right
/// now; on two CPUs with many threads, a blind spin steals that CPU. So each
/// kind of wait keeps a budget that grows when spins succeed and halves when
/// they fail (an occasional short probe lets a budget that fell to zero come
/// back), and at most half the CPUs spin at once (none on one CPU).
struct SpinPolicy {
  static int64_t BudgetNs(WaitKind kind);  // 0: do not spin this time
  static void Report(WaitKind kind, bool succeeded);
  static bool TryBeginSpin();  // false when enough threads already spin
  static void EndSpin();
};

/// One sleeper's registration on a cancellation token: bumps the word's epoch
/// and wakes it when the token fires.
struct WakeOnCancel : CancelNode {
  explicit WakeOnCancel(std::atomic<uint32_t> *w) : CancelNode(&WakeOnCancel::Wake), word(w) {}
  static void Wake(CancelNode *n, int /*reason*/) {
    std::atomic<uint32_t> *w = static_cast<WakeOnCancel *>(n)->word;
    w->fetch_add(kEpochUnit, std::memory_order_release);
    FutexWakeAll(w);
  }
  std::atomic<uint32_t> *word;
};

/// Blocks until `ready(payload)`, the absolute `deadline`, or a cancellation
/// token (either may be null) fires. Returns SLOTQ_OK, SLOTQ_ECANCELED or
/// SLOTQ_ETIMEDOUT; readiness wins over cancellation, cancellation over the
/// timeout. Spins briefly before sleeping.
template <class Ready>
int BlockOn(WaitKind kind, std::atomic<uint32_t> *word, Ready ready, int64_t deadline,
            CancelToken *c1, CancelToken *c2) {
  if (ready(word->load(std::memory_order_acquire) & kPayloadMask)) return 0;
  int64_t budget = SpinPolicy::BudgetNs(kind);
  int64_t now = budget > 0 ? NowNs() : 0;
  // A poll (its deadline already passed) does not spin: it would only fail,
  // and each failure halves the budget of the waits that do pay off.
  if (budget > 0 && now < deadline && SpinPolicy::TryBeginSpin()) {
    int64_t until = deadline - now > budget ? now + budget : deadline;
    // Pause-spin for a microsecond, then yield the CPU between checks: the
    // thread we wait for may need this very CPU (two CPUs, many threads),
    // and a CPU kept busy wakes the next thread far faster than an idle one.
    int64_t pause_until = now + kPauseSpinNs;
    bool got = false;
    for (unsigned i = 1;; i++) {
      if (ready(word->load(std::memory_order_acquire) & kPayloadMask)) {
        got = true;
        break;
      }
      if ((i & 15) != 0) {
        CpuRelax();
        continue;
      }
      now = NowNs();
      if (now >= until) break;
      if (now >= pause_until) sched_yield();
    }
    SpinPolicy::EndSpin();
    SpinPolicy::Report(kind, got);
    if (got) return 0;
  }
  if (c1 != nullptr && c1->deadline() < deadline) deadline = c1->deadline();
  if (c2 != nullptr && c2->deadline() < deadline) deadline = c2->deadline();
  // Quietly: a token whose deadline passed is not fired here, which would
  // run its callbacks (host code) on this thread in the middle of a wait,
  // where a dequeuer's wait has published this thread's parker. The loop
  // below sees it fired all the same.
  WakeOnCancel n1(word), n2(word);
  if (c1 != nullptr) c1->RegisterQuiet(&n1);
  if (c2 != nullptr) c2->RegisterQuiet(&n2);
  auto fired = [c1, c2] {
    return (c1 != nullptr && c1->Fired()) || (c2 != nullptr && c2->Fired());
  };
  int rc;
  for (;;) {
    uint32_t v = word->load(std::memory_order_acquire);
    if (ready(v & kPayloadMask)) {
      rc = 0;
      break;
    }
    if (fired()) {
      rc = SLOTQ_ECANCELED;
      break;
    }
    if (DeadlinePassed(deadline)) {
      // The deadline waited for may be a token's, passed since the look
      // above: that is a cancellation, not this call's timeout.
      rc = fired() ? SLOTQ_ECANCELED : SLOTQ_ETIMEDOUT;
      break;
    }
    if ((v & kSleepers) == 0) {
      if (!word->compare_exchange_weak(v, v | kSleepers, std::memory_order_relaxed)) continue;
      v |= kSleepers;
    }
    FutexWait(word, v, deadline);
  }
  if (c1 != nullptr) c1->Unregister(&n1);
  if (c2 != nullptr) c2->Unregister(&n2);
  return rc;
}

}  // namespace slotq

#endif  // SLOTQ_SRC_WAIT_H
