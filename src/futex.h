// Thin wrappers over the Linux futex system call: the only way the library
// puts a thread to sleep.
#ifndef SLOTQ_SRC_FUTEX_H
#define SLOTQ_SRC_FUTEX_H

#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>

namespace slotq {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex word must be 32 bits");

/// Sleeps while `*word == expected`, at most until the absolute monotonic
/// `deadline_ns` (INT64_MAX: no deadline). Returns early on a wake, a signal or
/// a spurious wakeup; callers re-check their condition in a loop.
inline void FutexWait(std::atomic<uint32_t> *word, uint32_t expected, int64_t deadline_ns) {
  struct timespec ts;
  struct timespec *tsp = nullptr;
  if (deadline_ns != INT64_MAX) {
    ts.tv_sec = deadline_ns / 1000000000;
    ts.tv_nsec = deadline_ns % 1000000000;
    tsp = &ts;
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC timeout.
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAIT_BITSET_PRIVATE, expected, tsp,
          nullptr, FUTEX_BITSET_MATCH_ANY);
}

/// Wakes every thread sleeping on `word`. Safe on memory that was freed or
/// reused: the kernel only hashes the address, and sleepers re-check.
inline void FutexWakeAll(std::atomic<uint32_t> *word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
}

/// Wakes at most one thread sleeping on `word`.
inline void FutexWakeOne(std::atomic<uint32_t> *word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr,
          0);
}

/// A pause hint for spin loops.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

}  // namespace slotq

#endif  // SLOTQ_SRC_FUTEX_H
