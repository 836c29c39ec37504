#include "policy.h"

#include "queue.h"
#include "stats.h"

namespace slotq {

bool IdleAwareNeedsContainer(const slotq_stats &s, size_t idle_slots) {
  uint64_t waiters = s.states[SLOTQ_WAITER];
  // Idle containers are expected to pick up waiters at once.
  uint64_t effective = waiters > idle_slots ? waiters - idle_slots : 0;
  if (effective == 0) return false;
  // Starting containers will serve the effective waiters.
  return s.states[SLOTQ_STARTER] < effective;
}

int EvaluatePolicy(const Queue *q, const slotq_policy *policy, bool *needed, slotq_stats *stats) {
  int kind = policy == nullptr ? SLOTQ_POLICY_SEED : policy->kind;
  if (kind == SLOTQ_POLICY_CUSTOM && policy->fn == nullptr) return SLOTQ_EINVAL;
  if (kind != SLOTQ_POLICY_SEED && kind != SLOTQ_POLICY_IDLE_AWARE && kind != SLOTQ_POLICY_CUSTOM) {
    return SLOTQ_EINVAL;
  }
  slotq_stats s;
  size_t idle = 0;
  q->SnapshotWithIdle(&s, &idle);
  switch (kind) {
    case SLOTQ_POLICY_SEED:
      *needed = SeedPolicyNeedsContainer(s);
      break;
    case SLOTQ_POLICY_IDLE_AWARE:
      *needed = IdleAwareNeedsContainer(s, idle);
      break;
    default:  // SLOTQ_POLICY_CUSTOM, called without any lock
      *needed = policy->fn(policy->arg, &s, idle) != 0;
      break;
  }
  if (stats != nullptr) *stats = s;
  return SLOTQ_OK;
}

}  // namespace slotq
