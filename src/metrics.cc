#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>

#include <vector>

#include "manager.h"
#include "queue.h"

namespace slotq {
namespace {

const char *const kStateNames[SLOTQ_STATE_COUNT] = {"runner", "starter", "waiter"};

struct QueueFigures {
  char key[2 * SLOTQ_KEY_SIZE + 1];
  slotq_stats stats;
  size_t idle;
  uint64_t queued, acquired, ejected, closed;
};

void Header(std::string *out, const char *name, const char *type, const char *help) {
  out->append("# HELP ").append(name).append(" ").append(help).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void Sample(std::string *out, const char *name, const char *key, const char *state,
            uint64_t value) {
  char buf[160];
  if (state != nullptr) {
    snprintf(buf, sizeof(buf), "%s{key=\"%s\",state=\"%s\"} %" PRIu64 "\n", name, key, state,
             value);
  } else {
    snprintf(buf, sizeof(buf), "%s{key=\"%s\"} %" PRIu64 "\n", name, key, value);
  }
  out->append(buf);
}

// Keys of queues made outside a manager may be any bytes: print them as hex.
void HexKey(const Queue *q, char *out) {
  static const char kDigits[] = "0123456789abcdef";
  size_t n = q->key_len() > SLOTQ_KEY_SIZE ? SLOTQ_KEY_SIZE : q->key_len();
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = kDigits[q->key()[i] >> 4];
    out[2 * i + 1] = kDigits[q->key()[i] & 15];
  }
  out[2 * n] = '\0';
}

}  // namespace

void RenderMetrics(Manager *m, std::string *out) {
  std::vector<Queue *> queues;
  m->Collect(&queues);
  std::vector<QueueFigures> figs;
  try {
    figs.resize(queues.size());
  } catch (...) {
    for (Queue *q : queues) q->ReleaseHandle();
    throw;
  }
  for (size_t i = 0; i < queues.size(); i++) {
    Queue *q = queues[i];
    QueueFigures &f = figs[i];
    HexKey(q, f.key);
    q->SnapshotWithIdle(&f.stats, &f.idle);
    Queue::Totals totals = q->ReadTotals();
    f.queued = totals.queued;
    f.acquired = totals.acquired;
    f.ejected = totals.ejected;
    f.closed = totals.closed;
    q->ReleaseHandle();
  }

  char buf[64];
  Header(out, "slotq_queues", "gauge", "Slot queues held by the manager.");
  snprintf(buf, sizeof(buf), "slotq_queues %zu\n", figs.size());
  out->append(buf);
  Header(out, "slotq_queue_parties", "gauge", "Parties in each state of a slot queue.");
  for (const QueueFigures &f : figs) {
    for (int s = 0; s < SLOTQ_STATE_COUNT; s++) {
      Sample(out, "slotq_queue_parties", f.key, kStateNames[s], f.stats.states[s]);
    }
  }
  Header(out, "slotq_queue_latency", "gauge",
         "Moving average (factor 0.5) of the time spent in each state, in the host's unit "
         "(nanoseconds for the library's own samples).");
  for (const QueueFigures &f : figs) {
    for (int s = 0; s < SLOTQ_STATE_COUNT; s++) {
      Sample(out, "slotq_queue_latency", f.key, kStateNames[s], f.stats.latencies[s]);
    }
  }
  Header(out, "slotq_queue_latency_samples_total", "counter",
         "Latency samples recorded for each state.");
  for (const QueueFigures &f : figs) {
    for (int s = 0; s < SLOTQ_STATE_COUNT; s++) {
      Sample(out, "slotq_queue_latency_samples_total", f.key, kStateNames[s],
             f.stats.latency_count[s]);
    }
  }
  Header(out, "slotq_queue_idle_slots", "gauge", "Idle slots on the queue's stack.");
  for (const QueueFigures &f : figs) Sample(out, "slotq_queue_idle_slots", f.key, nullptr, f.idle);
  Header(out, "slotq_slots_queued_total", "counter", "Slots offered to the queue.");
  for (const QueueFigures &f : figs) {
    Sample(out, "slotq_slots_queued_total", f.key, nullptr, f.queued);
  }
  Header(out, "slotq_slots_acquired_total", "counter", "Slots acquired by a caller.");
  for (const QueueFigures &f : figs) {
    Sample(out, "slotq_slots_acquired_total", f.key, nullptr, f.acquired);
  }
  Header(out, "slotq_slots_ejected_total", "counter", "Idle slots ejected by their container.");
  for (const QueueFigures &f : figs) {
    Sample(out, "slotq_slots_ejected_total", f.key, nullptr, f.ejected);
  }
  Header(out, "slotq_slots_closed_total", "counter",
         "Slots whose close callback ran: given back after use, or ejected.");
  for (const QueueFigures &f : figs) {
    Sample(out, "slotq_slots_closed_total", f.key, nullptr, f.closed);
  }
}

}  // namespace slotq
