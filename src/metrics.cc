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
  Queue::Totals totals;
};

// One metric family: per queue, or per queue and state.
struct Family {
  const char *name;
  const char *type;
  const char *help;
  bool per_state;
  uint64_t (*value)(const QueueFigures &f, int state);
};

const Family kFamilies[] = {
    {"slotq_queue_parties", "gauge", "Parties in each state of a slot queue.", true,
     [](const QueueFigures &f, int s) { return f.stats.states[s]; }},
    {"slotq_queue_latency", "gauge",
     "Moving average (factor 0.5) of the time spent in each state, in the host's unit "
     "(nanoseconds for the library's own samples).",
     true, [](const QueueFigures &f, int s) { return f.stats.latencies[s]; }},
    {"slotq_queue_latency_samples_total", "counter", "Latency samples recorded for each state.",
     true, [](const QueueFigures &f, int s) { return f.stats.latency_count[s]; }},
    {"slotq_queue_idle_slots", "gauge", "Idle slots on the queue's stack.", false,
     [](const QueueFigures &f, int) { return static_cast<uint64_t>(f.idle); }},
    {"slotq_slots_queued_total", "counter", "Slots offered to the queue.", false,
     [](const QueueFigures &f, int) { return f.totals.queued; }},
    {"slotq_slots_acquired_total", "counter", "Slots acquired by a caller.", false,
     [](const QueueFigures &f, int) { return f.totals.acquired; }},
    {"slotq_slots_ejected_total", "counter", "Idle slots ejected by their container.", false,
     [](const QueueFigures &f, int) { return f.totals.ejected; }},
    {"slotq_slots_closed_total", "counter",
     "Slots whose close callback ran: given back after use, or ejected.", false,
     [](const QueueFigures &f, int) { return f.totals.closed; }},
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
  // The figures are read under the manager's lock, with no handle of our
  // own: a handle dropped here could be a queue's last (another thread
  // deleted and released it meanwhile), which would shut the queue down on
  // this thread and run its slots' callbacks, which metrics must not do.
  std::vector<QueueFigures> figs;
  figs.reserve(m->Count());  // a hint: queues made meanwhile grow it below
  m->ForEachQueue(
      [](Queue *q, void *ctx) {
        auto *all = static_cast<std::vector<QueueFigures> *>(ctx);
        all->emplace_back();  // bad_alloc leaves the lock with the exception
        QueueFigures &f = all->back();
        HexKey(q, f.key);
        q->SnapshotWithIdle(&f.stats, &f.idle);
        f.totals = q->ReadTotals();
      },
      &figs);

  char buf[64];
  Header(out, "slotq_queues", "gauge", "Slot queues held by the manager.");
  snprintf(buf, sizeof(buf), "slotq_queues %zu\n", figs.size());
  out->append(buf);
  for (const Family &fam : kFamilies) {
    Header(out, fam.name, fam.type, fam.help);
    for (const QueueFigures &f : figs) {
      if (!fam.per_state) {
        Sample(out, fam.name, f.key, nullptr, fam.value(f, 0));
        continue;
      }
      for (int s = 0; s < SLOTQ_STATE_COUNT; s++) {
        Sample(out, fam.name, f.key, kStateNames[s], fam.value(f, s));
      }
    }
  }
}

}  // namespace slotq
