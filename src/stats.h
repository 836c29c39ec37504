// A queue's state counters and latency averages (the seed's slotQueueStats),
// and the seed's launch policy over a snapshot of them.
#ifndef SLOTQ_SRC_STATS_H
#define SLOTQ_SRC_STATS_H

#include <stdint.h>

#include "slotq.h"

namespace slotq {

/// Parties in each state, kept inside each queue under its lock (in the
/// cache line every get touches). 32-bit to keep a queue small; entering a
/// state past UINT32_MAX parties is refused (the snapshot is 64-bit, as the
/// seed's).
struct StateCounts {
  uint32_t n[SLOTQ_STATE_COUNT] = {0, 0, 0};

  /// SLOTQ_OK, or SLOTQ_EOVERLOAD when the counter is full.
  int Enter(int state);
  /// SLOTQ_OK, or SLOTQ_ESTATE when the counter is zero (the seed panics).
  int Exit(int state);
  bool Idle() const { return n[0] == 0 && n[1] == 0 && n[2] == 0; }
};

/// The latency averages of each state (the seed's moving average).
struct Latencies {
  uint64_t count[SLOTQ_STATE_COUNT] = {0, 0, 0};
  uint64_t avg[SLOTQ_STATE_COUNT] = {0, 0, 0};

  /// The seed's recordLatencyLocked, bit for bit.
  void Record(int state, uint64_t latency);
};

/// The seed's slotQueueStats, from both.
void Snapshot(const StateCounts &states, const Latencies &lat, slotq_stats *out);

inline bool ValidState(int state) { return state >= 0 && state < SLOTQ_STATE_COUNT; }

/// The seed's isNewContainerNeeded on a snapshot.
bool SeedPolicyNeedsContainer(const slotq_stats &s);

}  // namespace slotq

#endif  // SLOTQ_SRC_STATS_H
