// Launch policies: the seed's, the idle-aware one, and the host's own.
#ifndef SLOTQ_SRC_POLICY_H
#define SLOTQ_SRC_POLICY_H

#include <stddef.h>

#include "slotq.h"

namespace slotq {

class Queue;

/// The idle-aware policy on a snapshot (see SLOTQ_POLICY_IDLE_AWARE).
bool IdleAwareNeedsContainer(const slotq_stats &s, size_t idle_slots);

/// Whether `policy` (nullptr: the seed's) is one EvaluatePolicy accepts.
bool ValidPolicy(const slotq_policy *policy);

/// slotq_queue_evaluate_policy: SLOTQ_OK or SLOTQ_EINVAL (bad policy).
int EvaluatePolicy(const Queue *q, const slotq_policy *policy, bool *needed, slotq_stats *stats);

}  // namespace slotq

#endif  // SLOTQ_SRC_POLICY_H
