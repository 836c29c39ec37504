// A 4-byte mutex on a futex: small enough to sit in every queue (std::mutex
// is 40 bytes), with a short spin before sleeping because every critical
// section it guards is a handful of pointer moves.
#ifndef SLOTQ_SRC_MUTEX_H
#define SLOTQ_SRC_MUTEX_H

#include <stdint.h>

#include <atomic>

#include "annotations.h"
#include "futex.h"

namespace slotq {

class SLOTQ_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex &) = delete;
  Mutex &operator=(const Mutex &) = delete;

  void Lock() SLOTQ_ACQUIRE() {
    uint32_t expected = kUnlocked;
    if (word_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      return;
    }
    LockSlow();
  }

  void Unlock() SLOTQ_RELEASE() {
    if (word_.exchange(kUnlocked, std::memory_order_release) == kContended) {
      FutexWakeOne(&word_);
    }
  }

 private:
  // Drepper's three-state futex mutex ("Futexes Are Tricky", mutex 3).
  static constexpr uint32_t kUnlocked = 0;
  static constexpr uint32_t kLocked = 1;     // held, nobody sleeping
  static constexpr uint32_t kContended = 2;  // held, maybe somebody sleeping

  void LockSlow() {
    for (int i = 0; i < 100; i++) {
      CpuRelax();
      uint32_t expected = kUnlocked;
      if (word_.load(std::memory_order_relaxed) == kUnlocked &&
          word_.compare_exchange_weak(expected, kLocked, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        return;
      }
    }
    while (word_.exchange(kContended, std::memory_order_acquire) != kUnlocked) {
      FutexWait(&word_, kContended, INT64_MAX);
    }
  }

  std::atomic<uint32_t> word_{kUnlocked};
};

/// Holds a Mutex for a scope.
class SLOTQ_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex *mu) SLOTQ_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() SLOTQ_RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock &) = delete;
  MutexLock &operator=(const MutexLock &) = delete;

 private:
  Mutex *mu_;
};

}  // namespace slotq

#endif  // SLOTQ_SRC_MUTEX_H
