#include "stats.h"

namespace slotq {

int StateCounts::Enter(int state) {
  if (n[state] == UINT32_MAX) return SLOTQ_EOVERLOAD;
  n[state] += 1;
  return SLOTQ_OK;
}

int StateCounts::Exit(int state) {
  if (n[state] == 0) return SLOTQ_ESTATE;
  n[state] -= 1;
  return SLOTQ_OK;
}

void Latencies::Record(int state, uint64_t latency) {
  // Exponentially weighted moving average with factor 0.5, in wrapping
  // unsigned arithmetic exactly as the seed; the first sample is ignored.
  if (count[state] != 0) avg[state] = (avg[state] * 5 + latency * 5) / 10;
  count[state] += 1;
  if (count[state] == 0) count[state] += 1;
}

void Snapshot(const StateCounts &states, const Latencies &lat, slotq_stats *out) {
  for (int i = 0; i < SLOTQ_STATE_COUNT; i++) {
    out->states[i] = states.n[i];
    out->latency_count[i] = lat.count[i];
    out->latencies[i] = lat.avg[i];
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
