// The library's one timer thread: fires cancellation tokens at their deadline
// for the callbacks registered on them. Blocking calls never need it (they
// sleep until the deadline themselves); it starts on first need and exits
// when it has nothing left to watch.
#ifndef SLOTQ_SRC_DEADLINE_TIMER_H
#define SLOTQ_SRC_DEADLINE_TIMER_H

#include <stddef.h>
#include <stdint.h>

namespace slotq {

class CancelToken;

/// Fires `token` with SLOTQ_ETIMEDOUT at `deadline_ns` and then drops one
/// reference to it, which the caller gave it. Returns false if the timer could
/// not take it (out of memory, no thread); the reference is then the caller's.
bool WatchDeadline(CancelToken *token, int64_t deadline_ns);

/// Takes `token` out of the timer if it is there. Returns true if it was:
/// the reference the timer held is then the caller's to drop. False means
/// the timer already took it to fire it (and drops its reference itself).
bool UnwatchDeadline(CancelToken *token);

/// How many deadlines the timer holds; for tests.
size_t WatchedDeadlines();

}  // namespace slotq

#endif  // SLOTQ_SRC_DEADLINE_TIMER_H
