/* slotq-bench: the scenarios of ../shared/peer/go/run (peer_test.go) on
 * libslotq, printing the same JSON lines with "impl":"slotq", so that the two
 * can be compared line by line (bench/compare does). Figures only: nothing
 * here passes or fails on time. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <slotq.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *g_scenario = "all";
static long g_producers = 4, g_consumers = 16, g_calls = 200000, g_functions = 1000,
            g_queued = 10000;

static void die(const char *what, int rc) {
  fprintf(stderr, "slotq-bench: %s: %s\n", what, slotq_strerror(rc));
  exit(1);
}
#define CHECK(call)                       \
  do {                                    \
    int rc_ = (call);                     \
    if (rc_ != SLOTQ_OK) die(#call, rc_); \
  } while (0)

/* ---- output, as the peer's emit() --------------------------------------- */

typedef struct result {
  const char *scenario;
  long ops;
  int64_t p50, p99;
  long producers, consumers, queued, functions;
  double bytes_per_queue, bytes_per_slot;
} result;

static void emit(result r, int64_t ns) {
  printf(
      "{\"impl\":\"slotq\",\"scenario\":\"%s\",\"ops\":%ld,\"ns_per_op\":%.3f,\"ops_per_s\":%.1f",
      r.scenario, r.ops, (double)ns / (double)r.ops, (double)r.ops * 1e9 / (double)ns);
  if (r.p50) printf(",\"p50_ns\":%" PRId64, r.p50);
  if (r.p99) printf(",\"p99_ns\":%" PRId64, r.p99);
  if (r.producers) printf(",\"producers\":%ld", r.producers);
  if (r.consumers) printf(",\"consumers\":%ld", r.consumers);
  if (r.queued) printf(",\"queued\":%ld", r.queued);
  if (r.functions) printf(",\"functions\":%ld", r.functions);
  if (r.bytes_per_queue != 0) printf(",\"bytes_per_queue\":%.3f", r.bytes_per_queue);
  if (r.bytes_per_slot != 0) printf(",\"bytes_per_slot\":%.3f", r.bytes_per_slot);
  printf("}\n");
  fflush(stdout);
}

/* ---- the peer's sample call: 10 config pairs --------------------------- */

typedef struct sample {
  char path[32];
  char keys[10][16], values[10][32];
  slotq_kv cfg[10];
  slotq_call call;
} sample;

static void sample_call(sample *s, long i) {
  for (int k = 0; k < 10; k++) {
    int kl = snprintf(s->keys[k], sizeof(s->keys[k]), "ENV_VAR_%02d", k);
    int vl = snprintf(s->values[k], sizeof(s->values[k]), "value-%d-%ld", k, i);
    s->cfg[k].key = (slotq_str){s->keys[k], (size_t)kl};
    s->cfg[k].value = (slotq_str){s->values[k], (size_t)vl};
  }
  int pl = snprintf(s->path, sizeof(s->path), "/route/%ld", i);
  s->call = (slotq_call){SLOTQ_STR("myapp"),
                         {s->path, (size_t)pl},
                         SLOTQ_STR("fnproject/hello:0.0.1"),
                         SLOTQ_STR("http"),
                         30,
                         30,
                         128,
                         s->cfg,
                         10};
}

/* ---- a slot whose close callback releases its container ---------------- */

static const slotq_slot_ops nop_ops = {NULL, NULL, NULL, NULL, NULL};

/* ---- scenarios ----------------------------------------------------------- */

static void run_key(void) {
  sample s;
  sample_call(&s, 0);
  slotq_key k;
  long n = g_calls;
  int64_t t0 = slotq_now_ns();
  for (long i = 0; i < n; i++) CHECK(slotq_call_key(&s.call, &k));
  emit((result){.scenario = "key", .ops = n}, slotq_now_ns() - t0);
}

static void run_mgr_get(void) {
  slotq_mgr_t *mgr;
  CHECK(slotq_mgr_create(&mgr));
  sample *cs = malloc(sizeof(sample) * (size_t)g_functions);
  if (cs == NULL) die("malloc", SLOTQ_ENOMEM);
  for (long i = 0; i < g_functions; i++) sample_call(&cs[i], i);
  long n = g_calls;
  int64_t t0 = slotq_now_ns();
  for (long i = 0; i < n; i++) {
    slotq_queue_t *q;
    CHECK(slotq_mgr_get(mgr, &cs[i % g_functions].call, &q, NULL));
    CHECK(slotq_queue_exit_state(q, SLOTQ_WAITER));
    slotq_queue_release(q);
  }
  int64_t d = slotq_now_ns() - t0;
  emit((result){.scenario = "mgr_get", .ops = n, .functions = g_functions}, d);
  slotq_mgr_destroy(mgr);
  free(cs);
}

/* One thread, no contention: queue a slot, start a dequeuer, take the token,
 * acquire it, stop the dequeuer, release the slot. */
static void run_cycle(void) {
  slotq_queue_t *q;
  CHECK(slotq_queue_create("cycle", 5, &q));
  long n = g_calls;
  int64_t t0 = slotq_now_ns();
  for (long i = 0; i < n; i++) {
    slotq_token_t *offer, *tok;
    slotq_dequeuer_t *d;
    CHECK(slotq_queue_slot(q, NULL, &nop_ops, &offer));
    CHECK(slotq_start_dequeuer(q, NULL, &d));
    CHECK(slotq_dequeuer_next(d, SLOTQ_FOREVER, NULL, &tok));
    CHECK(slotq_token_acquire(tok));
    slotq_dequeuer_free(d);
    CHECK(slotq_token_close(tok, NULL));
    slotq_token_release(tok);
    slotq_token_release(offer);
  }
  emit((result){.scenario = "cycle", .ops = n}, slotq_now_ns() - t0);
  slotq_queue_release(q);
}

/* P containers each loop queueing a slot and waiting until a caller has used
 * and released it; C callers each loop getting the queue from the manager,
 * waiting for a slot, exiting Waiter with the wait, and releasing the slot. */
typedef struct handoff {
  slotq_mgr_t *mgr;
  slotq_queue_t *q;
  slotq_cancel_t *stop;
  sample call;
  atomic_long done;
  int64_t **lat;
  long *nlat;
} handoff;

typedef struct caller_arg {
  handoff *h;
  long k;
} caller_arg;

static void *handoff_producer(void *p) {
  handoff *h = (handoff *)p;
  for (;;) {
    slotq_token_t *tok;
    CHECK(slotq_queue_slot(h->q, NULL, &nop_ops, &tok));
    int rc = slotq_token_wait_closed(tok, SLOTQ_FOREVER, h->stop);
    if (rc == SLOTQ_ECANCELED) {
      if (slotq_eject(h->q, tok) == SLOTQ_OK) {
        slotq_token_release(tok);
        return NULL;
      }
      CHECK(slotq_token_wait_closed(tok, SLOTQ_FOREVER, NULL)); /* a caller has it */
    } else if (rc != SLOTQ_OK) {
      die("slotq_token_wait_closed", rc);
    }
    slotq_token_release(tok);
  }
}

static void *handoff_caller(void *p) {
  caller_arg *a = (caller_arg *)p;
  handoff *h = a->h;
  long cap = g_calls / g_consumers + 16, n = 0;
  int64_t *lat = malloc(sizeof(int64_t) * (size_t)cap);
  if (lat == NULL) die("malloc", SLOTQ_ENOMEM);
  while (atomic_fetch_add(&h->done, 1) < g_calls) {
    int64_t t0 = slotq_now_ns();
    slotq_queue_t *q;
    slotq_dequeuer_t *d;
    slotq_token_t *tok;
    CHECK(slotq_mgr_get(h->mgr, &h->call.call, &q, NULL));
    CHECK(slotq_start_dequeuer(q, NULL, &d));
    for (;;) {
      CHECK(slotq_dequeuer_next(d, SLOTQ_FOREVER, NULL, &tok));
      if (slotq_token_acquire(tok) == SLOTQ_OK) break;
      slotq_token_release(tok);
    }
    int64_t w = slotq_now_ns() - t0;
    CHECK(slotq_queue_exit_state_latency(q, SLOTQ_WAITER, (uint64_t)w));
    slotq_dequeuer_free(d);
    if (n == cap) {
      cap *= 2;
      lat = realloc(lat, sizeof(int64_t) * (size_t)cap);
      if (lat == NULL) die("realloc", SLOTQ_ENOMEM);
    }
    lat[n++] = w;
    CHECK(slotq_token_close(tok, NULL));
    slotq_token_release(tok);
    slotq_queue_release(q);
  }
  h->lat[a->k] = lat;
  h->nlat[a->k] = n;
  return NULL;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void run_handoff(void) {
  handoff h;
  memset(&h, 0, sizeof(h));
  CHECK(slotq_mgr_create(&h.mgr));
  CHECK(slotq_cancel_create(&h.stop));
  sample_call(&h.call, 0);
  CHECK(slotq_mgr_get(h.mgr, &h.call.call, &h.q, NULL));
  CHECK(slotq_queue_exit_state(h.q, SLOTQ_WAITER));
  h.lat = calloc((size_t)g_consumers, sizeof(int64_t *));
  h.nlat = calloc((size_t)g_consumers, sizeof(long));
  pthread_t *pt = calloc((size_t)g_producers, sizeof(pthread_t));
  pthread_t *ct = calloc((size_t)g_consumers, sizeof(pthread_t));
  caller_arg *ca = calloc((size_t)g_consumers, sizeof(caller_arg));
  if (!h.lat || !h.nlat || !pt || !ct || !ca) die("calloc", SLOTQ_ENOMEM);
  for (long p = 0; p < g_producers; p++) pthread_create(&pt[p], NULL, handoff_producer, &h);
  int64_t t0 = slotq_now_ns();
  for (long k = 0; k < g_consumers; k++) {
    ca[k] = (caller_arg){&h, k};
    pthread_create(&ct[k], NULL, handoff_caller, &ca[k]);
  }
  for (long k = 0; k < g_consumers; k++) pthread_join(ct[k], NULL);
  int64_t d = slotq_now_ns() - t0;
  CHECK(slotq_cancel_cancel(h.stop));
  for (long p = 0; p < g_producers; p++) pthread_join(pt[p], NULL);
  long total = 0;
  for (long k = 0; k < g_consumers; k++) total += h.nlat[k];
  int64_t *all = malloc(sizeof(int64_t) * (size_t)(total ? total : 1));
  if (all == NULL) die("malloc", SLOTQ_ENOMEM);
  long m = 0;
  for (long k = 0; k < g_consumers; k++) {
    memcpy(all + m, h.lat[k], sizeof(int64_t) * (size_t)h.nlat[k]);
    m += h.nlat[k];
    free(h.lat[k]);
  }
  qsort(all, (size_t)total, sizeof(int64_t), cmp_i64);
  emit((result){.scenario = "handoff",
                .ops = g_calls,
                .p50 = all[total / 2],
                .p99 = all[total * 99 / 100],
                .producers = g_producers,
                .consumers = g_consumers},
       d);
  free(all);
  free(ca);
  free(ct);
  free(pt);
  free(h.nlat);
  free(h.lat);
  slotq_cancel_release(h.stop);
  slotq_queue_release(h.q);
  slotq_mgr_destroy(h.mgr);
}

/* A queue holds Q idle slots; every one is ejected, in a shuffled order. */
static void run_eject(void) {
  slotq_queue_t *q;
  CHECK(slotq_queue_create("eject", 5, &q));
  long n = g_queued;
  slotq_token_t **toks = malloc(sizeof(*toks) * (size_t)n);
  if (toks == NULL) die("malloc", SLOTQ_ENOMEM);
  for (long i = 0; i < n; i++) CHECK(slotq_queue_slot(q, NULL, &nop_ops, &toks[i]));
  uint64_t x = 1; /* a fixed shuffle (xorshift), as the peer's seeded one */
  for (long i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    long j = (long)(x % (uint64_t)(i + 1));
    slotq_token_t *t = toks[i];
    toks[i] = toks[j];
    toks[j] = t;
  }
  int64_t t0 = slotq_now_ns();
  for (long i = 0; i < n; i++) CHECK(slotq_eject(q, toks[i]));
  int64_t d = slotq_now_ns() - t0;
  emit((result){.scenario = "eject", .ops = n, .queued = g_queued}, d);
  for (long i = 0; i < n; i++) slotq_token_release(toks[i]);
  free(toks);
  slotq_queue_release(q);
}

/* Heap bytes held per idle queue in a manager of F queues, and per queued
 * slot in a queue of Q slots: malloc's own count of bytes in use, which
 * includes its per-chunk overhead. */
static double heap_now(void) { return (double)mallinfo2().uordblks; }

static void run_mem(void) {
  sample *cs = malloc(sizeof(sample) * (size_t)g_functions);
  if (cs == NULL) die("malloc", SLOTQ_ENOMEM);
  for (long i = 0; i < g_functions; i++) sample_call(&cs[i], i);
  slotq_key warm;
  CHECK(slotq_call_key(&cs[0].call, &warm)); /* OpenSSL's one-time set-up */
  slotq_mgr_t *mgr;
  CHECK(slotq_mgr_create(&mgr));
  double base = heap_now();
  for (long i = 0; i < g_functions; i++) {
    slotq_queue_t *q;
    CHECK(slotq_mgr_get(mgr, &cs[i].call, &q, NULL));
    CHECK(slotq_queue_exit_state(q, SLOTQ_WAITER));
    slotq_queue_release(q);
  }
  double per_queue = (heap_now() - base) / (double)g_functions;
  slotq_queue_t *q;
  CHECK(slotq_queue_create("mem", 3, &q));
  slotq_token_t **toks = malloc(sizeof(*toks) * (size_t)g_queued);
  if (toks == NULL) die("malloc", SLOTQ_ENOMEM);
  static int the_slot; /* the slot itself is the caller's: one pointer, as the peer */
  base = heap_now();
  for (long i = 0; i < g_queued; i++) CHECK(slotq_queue_slot(q, &the_slot, &nop_ops, &toks[i]));
  double per_slot = (heap_now() - base) / (double)g_queued;
  emit((result){.scenario = "mem",
                .ops = 1,
                .functions = g_functions,
                .queued = g_queued,
                .bytes_per_queue = per_queue,
                .bytes_per_slot = per_slot},
       1);
  for (long i = 0; i < g_queued; i++) {
    CHECK(slotq_eject(q, toks[i]));
    slotq_token_release(toks[i]);
  }
  free(toks);
  slotq_queue_release(q);
  slotq_mgr_destroy(mgr);
  free(cs);
}

/* ---- flags, as the peer's (-flag=value or --flag=value or --flag value) -- */

static void usage(FILE *to) {
  fprintf(to,
          "usage: slotq-bench [--scenario=key|mgr_get|cycle|handoff|eject|mem|all]\n"
          "                   [--calls=N] [--producers=N] [--consumers=N]\n"
          "                   [--functions=N] [--queued=N]\n"
          "Runs the scenarios of ../shared/peer/go/run on libslotq and prints one JSON line\n"
          "per scenario, with the same fields and \"impl\":\"slotq\".\n");
}

static long parse_count(const char *name, const char *v) {
  char *end;
  long n = strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0' || n <= 0) {
    fprintf(stderr, "slotq-bench: --%s needs a positive integer, not '%s'\n", name, v);
    exit(2);
  }
  return n;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    while (*a == '-') a++;
    if (strcmp(a, "help") == 0 || strcmp(a, "h") == 0) {
      usage(stdout);
      return 0;
    }
    char name[32];
    const char *eq = strchr(a, '=');
    const char *v;
    size_t nl = eq ? (size_t)(eq - a) : strlen(a);
    if (nl >= sizeof(name)) nl = sizeof(name) - 1;
    memcpy(name, a, nl);
    name[nl] = '\0';
    if (eq) {
      v = eq + 1;
    } else if (i + 1 < argc) {
      v = argv[++i];
    } else {
      fprintf(stderr, "slotq-bench: --%s needs a value\n", name);
      return 2;
    }
    if (strcmp(name, "scenario") == 0)
      g_scenario = v;
    else if (strcmp(name, "calls") == 0)
      g_calls = parse_count(name, v);
    else if (strcmp(name, "producers") == 0)
      g_producers = parse_count(name, v);
    else if (strcmp(name, "consumers") == 0)
      g_consumers = parse_count(name, v);
    else if (strcmp(name, "functions") == 0)
      g_functions = parse_count(name, v);
    else if (strcmp(name, "queued") == 0)
      g_queued = parse_count(name, v);
    else {
      fprintf(stderr, "slotq-bench: unknown flag --%s\n", name);
      usage(stderr);
      return 2;
    }
  }
  static const struct {
    const char *name;
    void (*run)(void);
  } scenarios[] = {{"key", run_key},         {"mgr_get", run_mgr_get}, {"cycle", run_cycle},
                   {"handoff", run_handoff}, {"eject", run_eject},     {"mem", run_mem}};
  int ran = 0;
  for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
    if (strcmp(g_scenario, "all") == 0 || strcmp(g_scenario, scenarios[i].name) == 0) {
      scenarios[i].run();
      ran++;
    }
  }
  if (ran == 0) {
    fprintf(stderr, "slotq-bench: unknown scenario '%s'\n", g_scenario);
    return 2;
  }
  return 0;
}
