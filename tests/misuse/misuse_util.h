/*
 * Helpers shared by the misuse tests: a host "slot" that counts every callback
 * the library makes on it and can run a hook from inside each one.
 */
#ifndef SLOTQ_TESTS_MISUSE_UTIL_H
#define SLOTQ_TESTS_MISUSE_UTIL_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "slotq.h"

typedef struct test_slot test_slot;

/* A hook run from inside a callback, on the thread the library calls it on. */
typedef void (*test_hook)(test_slot *s);

struct test_slot {
  int closes;   /* close callbacks run */
  int execs;    /* exec callbacks run */
  int errors;   /* error callbacks run */
  int releases; /* release callbacks run */
  int close_rc; /* what close returns */
  int exec_rc;  /* what exec returns */
  int error_rc; /* what error returns */
  test_hook on_close;
  test_hook on_exec;
  test_hook on_release;
  void *ctx;                   /* for the hooks */
  slotq_token_t *token;        /* the container's token (no extra reference) */
  slotq_queue_t *queue;        /* the queue it was queued on (no extra reference) */
  slotq_cancel_t *exec_cancel; /* the cancellation token exec was given */
  int hook_rc;                 /* a status a hook saw */
  int hook_rc2;
};

static inline int test_slot_exec(void *p, slotq_cancel_t *cancel, void *arg) {
  test_slot *s = (test_slot *)p;
  (void)arg;
  s->execs++;
  s->exec_cancel = cancel;
  if (s->on_exec != NULL) s->on_exec(s);
  return s->exec_rc;
}

static inline int test_slot_close(void *p) {
  test_slot *s = (test_slot *)p;
  s->closes++;
  if (s->on_close != NULL) s->on_close(s);
  return s->close_rc;
}

static inline int test_slot_error(void *p) {
  test_slot *s = (test_slot *)p;
  s->errors++;
  return s->error_rc;
}

static inline void test_slot_release(void *p) {
  test_slot *s = (test_slot *)p;
  s->releases++;
  if (s->on_release != NULL) s->on_release(s);
}

static const slotq_slot_ops test_ops = {test_slot_exec, test_slot_close, test_slot_error,
                                        test_slot_release, NULL};

/* Every callback NULL: the header says they behave as callbacks returning 0. */
static const slotq_slot_ops null_ops = {NULL, NULL, NULL, NULL, NULL};

static inline int64_t ms_ns(int64_t ms) { return ms * 1000000; }

static inline void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Queues `s` on `q` and keeps the token in s->token. */
static inline int queue_test_slot(slotq_queue_t *q, test_slot *s) {
  s->queue = q;
  return slotq_queue_slot(q, s, &test_ops, &s->token);
}

static inline int token_state(const slotq_token_t *t) {
  int st = -1;
  if (slotq_token_state_get(t, &st, NULL) != SLOTQ_OK) return -1;
  return st;
}

static inline int token_closed(const slotq_token_t *t) {
  int st = -1, closed = -1;
  if (slotq_token_state_get(t, &st, &closed) != SLOTQ_OK) return -1;
  return closed;
}

static inline size_t queue_len(const slotq_queue_t *q) {
  size_t n = (size_t)-1;
  if (slotq_queue_len(q, &n) != SLOTQ_OK) return (size_t)-1;
  return n;
}

static inline uint64_t queue_state_count(const slotq_queue_t *q, int state) {
  slotq_stats st;
  if (slotq_queue_stats(q, &st) != SLOTQ_OK) return UINT64_MAX;
  return st.states[state];
}

/* A call whose only distinguishing field is its app name. */
static inline slotq_call make_call(const char *app) {
  slotq_call c;
  memset(&c, 0, sizeof c);
  c.app_name.ptr = app;
  c.app_name.len = strlen(app);
  c.path.ptr = "/r";
  c.path.len = 2;
  c.image.ptr = "img:1";
  c.image.len = 5;
  c.format.ptr = "http";
  c.format.len = 4;
  c.timeout = 30;
  c.idle_timeout = 10;
  c.memory = 128;
  return c;
}

/*
 * A thread blocked in slotq_dequeuer_next(). The bound (timeout) only keeps a
 * broken library from hanging the test; no result depends on timing.
 */
typedef struct next_thread {
  pthread_t th;
  slotq_dequeuer_t *deq;
  int64_t timeout_ns;
  slotq_cancel_t *cancel;
  int rc;
  slotq_token_t *token;
} next_thread;

static inline void *next_thread_main(void *p) {
  next_thread *n = (next_thread *)p;
  n->token = NULL;
  n->rc = slotq_dequeuer_next(n->deq, n->timeout_ns, n->cancel, &n->token);
  return NULL;
}

static inline int next_thread_start(next_thread *n) {
  return pthread_create(&n->th, NULL, next_thread_main, n);
}

/*
 * Waits until another thread is inside slotq_dequeuer_next() on `d`: a second
 * caller gets SLOTQ_EBUSY exactly then. Returns 1 once seen, 0 if it never
 * happened within `max_ms` (a hang guard, not a timing assumption).
 */
static inline int wait_until_inside_next(slotq_dequeuer_t *d, int max_ms) {
  for (int i = 0; i < max_ms; i++) {
    slotq_token_t *t = NULL;
    int rc = slotq_dequeuer_next(d, 0, NULL, &t);
    if (rc == SLOTQ_EBUSY) return 1;
    if (rc == SLOTQ_OK) {
      /* Not expected by the callers of this helper (the queue is empty). */
      slotq_token_release(t);
      return 0;
    }
    sleep_ms(1);
  }
  return 0;
}

#endif /* SLOTQ_TESTS_MISUSE_UTIL_H */
