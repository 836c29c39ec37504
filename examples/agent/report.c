/* The end-of-run report: a table per function, then the library's metrics. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The nearest-rank percentile of n sorted values, in milliseconds. */
static double percentile_ms(const uint64_t *sorted, size_t n, unsigned p) {
  if (n == 0) return 0.0;
  size_t rank = (n * p + 99) / 100; /* ceil(n * p / 100), 1-based */
  if (rank == 0) rank = 1;
  return (double)sorted[rank - 1] / 1e6;
}

static double ratio_pct(unsigned part, unsigned whole) {
  return whole == 0 ? 0.0 : 100.0 * (double)part / (double)whole;
}

void report_print(agent *ag, FILE *out) {
  unsigned calls = 0, hits = 0, mismatches = 0, failed = 0, started = 0, ejected = 0;
  fprintf(out, "\n%-6s %6s %7s %7s %8s %8s %7s %7s %7s %6s\n", "fn", "calls", "started", "hot-hit",
          "wait-p50", "wait-p99", "ejected", "stopped", "deleted", "errors");
  for (unsigned f = 0; f < ag->opt.functions; f++) {
    function *fn = &ag->fns[f];
    size_t n = atomic_load(&fn->nwaits);
    if (n > fn->planned) n = fn->planned;
    qsort(fn->waits_ns, n, sizeof(uint64_t), cmp_u64);
    unsigned c = atomic_load(&fn->calls), h = atomic_load(&fn->hits);
    unsigned bad = atomic_load(&fn->mismatches) + atomic_load(&fn->failed);
    char hit[16] = "-", p50[16] = "-", p99[16] = "-"; /* no calls: no figures */
    if (c > 0) {
      snprintf(hit, sizeof(hit), "%.1f%%", ratio_pct(h, c));
      snprintf(p50, sizeof(p50), "%.2f", percentile_ms(fn->waits_ns, n, 50));
      snprintf(p99, sizeof(p99), "%.2f", percentile_ms(fn->waits_ns, n, 99));
    }
    fprintf(out, "%-6s %6u %7u %7s %8s %8s %7u %7u %7u %6u\n", fn->name, c,
            atomic_load(&fn->started), hit, p50, p99, atomic_load(&fn->ejected_idle),
            atomic_load(&fn->stopped), atomic_load(&fn->queues_deleted), bad);
    calls += c;
    hits += h;
    mismatches += atomic_load(&fn->mismatches);
    failed += atomic_load(&fn->failed);
    started += atomic_load(&fn->started);
    ejected += atomic_load(&fn->ejected_idle);
  }
  fprintf(out,
          "\nstarted: containers started.  hot-hit: share of the calls served by a container\n"
          "that had served a call before.  wait-p50/p99: time spent in slotq_caller_acquire,\n"
          "in ms.  ejected: containers ejected after %u ms idle.  stopped: containers\n"
          "stopped at shutdown.  deleted: queues the launcher deleted after %lld ms without\n"
          "calls.  errors: calls that failed or got a wrong response.\n",
          ag->opt.idle_timeout_ms, (long long)(ag->inactivity_ns / 1000000));
  fprintf(out,
          "\ntotal: %u calls in %.2f s; %u containers started, %u ejected idle; %.1f%% hot hits\n",
          calls, (double)(ag->t_end - ag->t_start) / 1e9, started, ejected, ratio_pct(hits, calls));
  fprintf(out, "result: %u mismatches, %u failed calls, %u container errors\n", mismatches, failed,
          atomic_load(&ag->errors));

  char *text = NULL;
  int rc = slotq_mgr_metrics(ag->mgr, &text, NULL);
  if (rc == SLOTQ_OK) {
    fprintf(out, "\nslotq_mgr_metrics (queues are labelled with their function's key:");
    for (unsigned f = 0; f < ag->opt.functions; f++) {
      slotq_key key;
      char hex[2 * SLOTQ_KEY_SIZE + 1];
      if (slotq_call_key(&ag->fns[f].call, &key) == SLOTQ_OK &&
          slotq_key_hex(&key, hex) == SLOTQ_OK) {
        fprintf(out, "\n  %s %s", ag->fns[f].name, hex);
      }
    }
    fprintf(out, ")\n%s", text);
    slotq_free(text);
  } else {
    fprintf(out, "\nslotq_mgr_metrics: %s\n", slotq_strerror(rc));
  }
}

int report_failed(const agent *ag) {
  unsigned bad = atomic_load(&ag->errors);
  for (unsigned f = 0; f < ag->opt.functions; f++) {
    bad += atomic_load(&ag->fns[f].mismatches) + atomic_load(&ag->fns[f].failed);
    if (atomic_load(&ag->fns[f].calls) != ag->fns[f].planned) bad++;
  }
  return bad != 0;
}
