// A queue's state counters and latency averages (the seed's slotQueueStats),
// and the seed's launch policy over a snapshot of them.
#ifndef SLOTQ_SRC_STATS_H
#define SLOTQ_SRC_STATS_H

#include <stdint.h>

#include "slotq.h"

namespace slotq {

/// Kept inside each queue, guarded by the queue's lock. Party counts are
/// 32-bit to keep a queue small; entering a state past UINT32_MAX parties is
/// refused (the snapshot is 64-bit, as the seed's).
struct Stats {
  uint32_t states[SLOTQ_STATE_COUNT] = {0, 0, 0};
  uint64_t latency_count[SLOTQ_STATE_COUNT] = {0, 0, 0};
  uint64_t latencies[SLOTQ_STATE_COUNT] = {0, 0, 0};

  /// SLOTQ_OK, or SLOTQ_EOVERLOAD when the counter is full.
  int Enter(int state);
  /// SLOTQ_OK, or SLOTQ_ESTATE when the counter is zero (the seed panics).
  int Exit(int state);
  /// The seed's recordLatencyLocked, bit for bit.
  void Record(int state, uint64_t latency);
  bool Idle() const { return states[0] == 0 && states[1] == 0 && states[2] == 0; }
  void Snapshot(slotq_stats *out) const;
};

inline bool ValidState(int state) { return state >= 0 && state < SLOTQ_STATE_COUNT; }

/// The seed's isNewContainerNeeded on a snapshot.
bool SeedPolicyNeedsContainer(const slotq_stats &s);

}  // namespace slotq

#endif  // SLOTQ_SRC_STATS_H
