// Shared helpers of the C shim (capi_*.cc): handle conversions, argument
// checks, and the guard that keeps C++ exceptions from crossing the ABI.
#ifndef SLOTQ_SRC_CAPI_H
#define SLOTQ_SRC_CAPI_H

#include <new>

#include "cancel.h"
#include "clock.h"
#include "dequeuer.h"
#include "manager.h"
#include "queue.h"
#include "slotq.h"
#include "token.h"

namespace slotq {

// The opaque C handles are the C++ objects themselves.
inline Queue *AsQueue(slotq_queue_t *h) { return reinterpret_cast<Queue *>(h); }
inline const Queue *AsQueue(const slotq_queue_t *h) { return reinterpret_cast<const Queue *>(h); }
inline slotq_queue_t *AsHandle(Queue *q) { return reinterpret_cast<slotq_queue_t *>(q); }
inline Token *AsToken(slotq_token_t *h) { return reinterpret_cast<Token *>(h); }
inline const Token *AsToken(const slotq_token_t *h) { return reinterpret_cast<const Token *>(h); }
inline slotq_token_t *AsHandle(Token *t) { return reinterpret_cast<slotq_token_t *>(t); }
inline CancelToken *AsCancel(slotq_cancel_t *h) { return reinterpret_cast<CancelToken *>(h); }
inline const CancelToken *AsCancel(const slotq_cancel_t *h) {
  return reinterpret_cast<const CancelToken *>(h);
}
inline slotq_cancel_t *AsHandle(CancelToken *c) { return reinterpret_cast<slotq_cancel_t *>(c); }
inline Dequeuer *AsDequeuer(slotq_dequeuer_t *h) { return reinterpret_cast<Dequeuer *>(h); }
inline slotq_dequeuer_t *AsHandle(Dequeuer *d) { return reinterpret_cast<slotq_dequeuer_t *>(d); }
inline Manager *AsManager(slotq_mgr_t *h) { return reinterpret_cast<Manager *>(h); }
inline slotq_mgr_t *AsHandle(Manager *m) { return reinterpret_cast<slotq_mgr_t *>(m); }

/// A timeout the API accepts: >= 0, or SLOTQ_FOREVER.
inline bool ValidTimeout(int64_t t) { return t >= 0 || t == SLOTQ_FOREVER; }
inline int64_t DeadlineOf(int64_t timeout_ns) {
  return timeout_ns == SLOTQ_FOREVER ? kNoDeadline : DeadlineAfter(timeout_ns);
}

/// Runs `f` (returning a status) so that no exception escapes: allocation
/// failures become SLOTQ_ENOMEM, anything else SLOTQ_EINTERNAL.
template <class F>
int Guard(F f) noexcept {
  try {
    return f();
  } catch (const std::bad_alloc &) {
    return SLOTQ_ENOMEM;
  } catch (...) {
    return SLOTQ_EINTERNAL;
  }
}

/// The same for functions that return nothing.
template <class F>
void GuardVoid(F f) noexcept {
  try {
    f();
  } catch (...) {
  }
}

}  // namespace slotq

#endif  // SLOTQ_SRC_CAPI_H
