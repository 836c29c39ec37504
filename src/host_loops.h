// The three loops every host writes around a queue, with the seed's agent's
// semantics: the container's offer, the caller's wait, the launcher's turn.
#ifndef SLOTQ_SRC_HOST_LOOPS_H
#define SLOTQ_SRC_HOST_LOOPS_H

#include <stdint.h>

#include "slotq.h"

namespace slotq {

class CancelToken;
class Manager;
class Queue;
struct Token;

/// slotq_container_offer (deadline absolute).
int ContainerOffer(Queue *q, void *slot, const slotq_slot_ops *ops, int64_t deadline,
                   CancelToken *cancel, Token **out);

/// slotq_caller_acquire (deadline absolute, ping_ns > 0).
int CallerAcquire(Manager *m, const slotq_call &call, int64_t deadline, int64_t ping_ns,
                  CancelToken *cancel, Token **out, int *slot_err);

/// The caller's wait, as a Waiter on `q` (it exits that state on every
/// outcome). Deadline absolute, ping_ns > 0.
int CallerWait(Queue *q, int64_t deadline, int64_t ping_ns, CancelToken *cancel, Token **out,
               int *slot_err);

/// slotq_caller_wait: CallerWait, or SLOTQ_ESTATE if `q` has no Waiter.
int CallerWaitChecked(Queue *q, int64_t deadline, int64_t ping_ns, CancelToken *cancel, Token **out,
                      int *slot_err);

/// slotq_launcher_step (deadline absolute); m may be null.
int LauncherStep(Manager *m, Queue *q, const slotq_policy *policy, int64_t deadline,
                 CancelToken *cancel, int *action, slotq_stats *stats);

}  // namespace slotq

#endif  // SLOTQ_SRC_HOST_LOOPS_H
