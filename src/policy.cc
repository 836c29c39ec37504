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

bool ValidPolicy(const slotq_policy *policy) {
  if (policy == nullptr) return true;
  switch (policy->kind) {
    case SLOTQ_POLICY_SEED:
    case SLOTQ_POLICY_IDLE_AWARE:
      return true;
    case SLOTQ_POLICY_CUSTOM:
      return policy->fn != nullptr;
    default:
      return false;
  }
}

int EvaluatePolicy(const Queue *q, const slotq_policy *policy, bool *needed, slotq_stats *stats) {
  if (!ValidPolicy(policy)) return SLOTQ_EINVAL;
  int kind = policy == nullptr ? SLOTQ_POLICY_SEED : policy->kind;
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
