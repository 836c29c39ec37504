#include "stats.h"

namespace slotq {

int Stats::Enter(int state) {
  if (states[state] == UINT32_MAX) return SLOTQ_EOVERLOAD;
  states[state] += 1;
  return SLOTQ_OK;
}

int Stats::Exit(int state) {
  if (states[state] == 0) return SLOTQ_ESTATE;
  states[state] -= 1;
  return SLOTQ_OK;
}

void Stats::Record(int state, uint64_t latency) {
  // Exponentially weighted moving average with factor 0.5, in wrapping
  // unsigned arithmetic exactly as the seed; the first sample is ignored.
  if (latency_count[state] != 0) {
    latencies[state] = (latencies[state] * 5 + latency * 5) / 10;
  }
  latency_count[state] += 1;
  if (latency_count[state] == 0) latency_count[state] += 1;
}

void Stats::Snapshot(slotq_stats *out) const {
  for (int i = 0; i < SLOTQ_STATE_COUNT; i++) {
    out->states[i] = states[i];
    out->latency_count[i] = latency_count[i];
    out->latencies[i] = latencies[i];
  }
}

bool SeedPolicyNeedsContainer(const slotq_stats &s) {
  uint64_t waiters = s.states[SLOTQ_WAITER];
  if (waiters == 0) return false;
  // While a container is starting, do not start more than waiters.
  uint64_t starters = s.states[SLOTQ_STARTER];
  if (starters >= waiters) return false;
  // No executors? Start a container now.
  uint64_t executors = starters + s.states[SLOTQ_RUNNER];
  if (executors == 0) return true;
  uint64_t run_lat = s.latencies[SLOTQ_RUNNER];
  uint64_t wait_lat = s.latencies[SLOTQ_WAITER];
  uint64_t start_lat = s.latencies[SLOTQ_STARTER];
  // No wait latency? No need to spin up a new container.
  if (wait_lat == 0) return false;
  // The aggressiveness of the launch, as the seed.
  if (run_lat / executors * 2 < wait_lat) return true;
  if (run_lat < wait_lat) return true;
  if (start_lat < wait_lat) return true;
  return false;
}

}  // namespace slotq
