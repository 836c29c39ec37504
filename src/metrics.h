// The manager's queues in the Prometheus text exposition format.
#ifndef SLOTQ_SRC_METRICS_H
#define SLOTQ_SRC_METRICS_H

#include <string>

namespace slotq {

class Manager;

/// Appends the metrics text of every queue in `m` to `out` (may throw bad_alloc).
void RenderMetrics(Manager *m, std::string *out);

}  // namespace slotq

#endif  // SLOTQ_SRC_METRICS_H
