/* Dequeuers: blocking hand-off, stop and cancellation wake-ups, timeouts,
 * one waiter per slot, and the event-driven (armed) mode. */
#define _GNU_SOURCE /* CPU_SET, pthread_setaffinity_np, SCHED_IDLE */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

typedef struct next_job {
  slotq_dequeuer_t *deq;
  int64_t timeout;
  slotq_cancel_t *cancel;
  int rc;
  slotq_token_t *tok;
  int64_t waited_ns;
} next_job;

static void *run_next(void *arg) {
  next_job *j = (next_job *)arg;
  int64_t t0 = slotq_now_ns();
  j->tok = NULL;
  j->rc = slotq_dequeuer_next(j->deq, j->timeout, j->cancel, &j->tok);
  j->waited_ns = slotq_now_ns() - t0;
  return NULL;
}

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

/* Starts slotq_dequeuer_next (no timeout) on another thread and gives it
 * time to block. (The tests hold whether or not it blocked in time.) */
static pthread_t start_blocked_next(next_job *j, slotq_dequeuer_t *d, slotq_cancel_t *cancel) {
  *j = (next_job){d, SLOTQ_FOREVER, cancel, -99, NULL, 0};
  pthread_t th;
  pthread_create(&th, NULL, run_next, j);
  sleep_ms(20);
  return th;
}

static void blocked_next_gets_a_slot_queued_later(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  next_job j;
  pthread_t th = start_blocked_next(&j, d, NULL);
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  pthread_join(th, NULL);
  assert_ok(j.rc);
  assert_ptr_equal(j.tok, t);
  /* Handed straight to the waiter: never on the stack. */
  size_t len = 9;
  assert_ok(slotq_queue_len(q, &len));
  assert_int_equal(len, 0);
  assert_ok(slotq_token_acquire(j.tok));
  slotq_token_release(j.tok);
  slotq_dequeuer_free(d);
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void stop_wakes_a_blocked_next_at_once(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  next_job j;
  pthread_t th = start_blocked_next(&j, d, NULL);
  assert_ok(slotq_dequeuer_stop(d));
  pthread_join(th, NULL);
  assert_status(SLOTQ_ESTOPPED, j.rc);
  assert_status(SLOTQ_ESTOPPED, slotq_dequeuer_stop(d));
  slotq_token_t *t;
  assert_status(SLOTQ_ESTOPPED, slotq_dequeuer_next(d, 0, NULL, &t));
  slotq_dequeuer_free(d);
  slotq_queue_release(q);
}

static void dequeuer_cancel_wakes_a_blocked_next(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, c, &d));
  next_job j;
  pthread_t th = start_blocked_next(&j, d, NULL);
  assert_ok(slotq_cancel_cancel(c));
  pthread_join(th, NULL);
  assert_status(SLOTQ_ECANCELED, j.rc);
  slotq_token_t *t;
  assert_status(SLOTQ_ECANCELED, slotq_dequeuer_next(d, 0, NULL, &t));
  slotq_dequeuer_free(d);
  slotq_cancel_release(c);
  slotq_queue_release(q);
}

static void call_cancel_wakes_a_blocked_next(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  next_job j;
  pthread_t th = start_blocked_next(&j, d, c);
  assert_ok(slotq_cancel_cancel(c));
  pthread_join(th, NULL);
  assert_status(SLOTQ_ECANCELED, j.rc);
  /* Only that call was cancelled: the dequeuer still works. */
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t, *got;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  slotq_token_release(got);
  slotq_dequeuer_free(d);
  slotq_token_release(t);
  slotq_cancel_release(c);
  slotq_queue_release(q);
}

static void deadline_token_ends_a_blocked_next(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_cancel_t *c;
  int64_t deadline = slotq_now_ns() + MS(30);
  assert_ok(slotq_cancel_create_deadline(NULL, deadline, &c));
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, c, &d));
  next_job j = {d, SLOTQ_FOREVER, NULL, -99, NULL, 0};
  run_next(&j);
  assert_status(SLOTQ_ECANCELED, j.rc);
  assert_true(slotq_now_ns() >= deadline); /* never early */
  int reason;
  assert_ok(slotq_cancel_reason(c, &reason));
  assert_int_equal(reason, SLOTQ_ETIMEDOUT);
  slotq_dequeuer_free(d);
  slotq_cancel_release(c);
  slotq_queue_release(q);
}

static void timeout_returns_etimedout(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  next_job j = {d, MS(20), NULL, -99, NULL, 0};
  run_next(&j);
  assert_status(SLOTQ_ETIMEDOUT, j.rc);
  assert_true(j.waited_ns >= MS(20)); /* never early */
  /* After a timeout the dequeuer is no longer a waiter: a new slot stays. */
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  size_t len = 0;
  assert_ok(slotq_queue_len(q, &len));
  assert_int_equal(len, 1);
  slotq_dequeuer_free(d);
  assert_ok(slotq_eject(q, t));
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void one_slot_goes_to_the_oldest_waiter_the_others_keep_waiting(void **state) {
  (void)state;
  enum { N = 3 };
  slotq_queue_t *q = test_queue();
  slotq_dequeuer_t *d[N];
  next_job j[N];
  pthread_t th[N];
  for (int i = 0; i < N; i++) {
    assert_ok(slotq_start_dequeuer(q, NULL, &d[i]));
    j[i] = (next_job){d[i], SLOTQ_FOREVER, NULL, -99, NULL, 0};
    pthread_create(&th[i], NULL, run_next, &j[i]);
    sleep_ms(15); /* so that they wait in this order */
  }
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  pthread_join(th[0], NULL);
  assert_ok(j[0].rc);
  assert_ptr_equal(j[0].tok, t);
  sleep_ms(20);
  /* The others still wait: stop them. */
  for (int i = 1; i < N; i++) assert_ok(slotq_dequeuer_stop(d[i]));
  for (int i = 1; i < N; i++) {
    pthread_join(th[i], NULL);
    assert_status(SLOTQ_ESTOPPED, j[i].rc);
  }
  assert_ok(slotq_token_acquire(j[0].tok));
  slotq_token_release(j[0].tok);
  for (int i = 0; i < N; i++) slotq_dequeuer_free(d[i]);
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void stop_and_cancel_give_a_lent_slot_back_at_once(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t, *got;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_LENT);
  assert_ok(slotq_dequeuer_stop(d));
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_QUEUED);
  slotq_token_release(got);
  slotq_dequeuer_free(d);
  /* The same when the dequeuer's own token fires. */
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  assert_ok(slotq_start_dequeuer(q, c, &d));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_LENT);
  assert_ok(slotq_cancel_cancel(c));
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_QUEUED);
  slotq_token_release(got);
  slotq_dequeuer_free(d);
  slotq_cancel_release(c);
  assert_int_equal(atomic_load(&s.closes), 0); /* the container noticed nothing */
  assert_ok(slotq_eject(q, t));
  slotq_token_release(t);
  slotq_queue_release(q);
}

/* A caller whose dequeuer stopped keeps its reference to the token it was
 * lent, and slotq_token_acquire() on it still competes for the slot, which
 * went back to the queue: here after it was lent to another caller, who
 * then finds it acquired. Exactly one of them gets it. */
static void a_slot_given_back_can_still_be_acquired_by_its_old_borrower(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t, *old, *now;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  slotq_dequeuer_t *d1, *d2;
  assert_ok(slotq_start_dequeuer(q, NULL, &d1));
  assert_ok(slotq_dequeuer_next(d1, 0, NULL, &old));
  assert_ok(slotq_dequeuer_stop(d1)); /* t goes back */
  assert_ok(slotq_start_dequeuer(q, NULL, &d2));
  assert_ok(slotq_dequeuer_next(d2, 0, NULL, &now));
  assert_ptr_equal(now, old);
  assert_int_equal(test_token_state(now), SLOTQ_TOKEN_LENT);
  assert_ok(slotq_token_acquire(old));
  assert_int_equal(test_token_state(now), SLOTQ_TOKEN_ACQUIRED);
  assert_status(SLOTQ_EGONE, slotq_token_acquire(now));
  slotq_token_release(now);
  slotq_dequeuer_free(d2); /* drops its reference; the slot stays acquired */
  assert_ok(slotq_token_close(old, NULL));
  slotq_token_release(old);
  slotq_dequeuer_free(d1);
  assert_int_equal(atomic_load(&s.closes), 1);
  slotq_token_release(t);
  assert_int_equal(atomic_load(&s.releases), 1);
  slotq_queue_release(q);
}

static void second_thread_in_next_is_refused(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  next_job j;
  pthread_t th = start_blocked_next(&j, d, NULL);
  slotq_token_t *t;
  assert_status(SLOTQ_EBUSY, slotq_dequeuer_next(d, 0, NULL, &t));
  assert_ok(slotq_dequeuer_stop(d));
  pthread_join(th, NULL);
  slotq_dequeuer_free(d);
  slotq_queue_release(q);
}

static void blocked_token_wait_wakes_on_acquire(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  int st = -1;
  assert_status(SLOTQ_ETIMEDOUT, slotq_token_wait(t, MS(10), NULL, &st));
  assert_int_equal(st, SLOTQ_TOKEN_QUEUED);
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  assert_ok(slotq_cancel_cancel(c));
  assert_status(SLOTQ_ECANCELED, slotq_token_wait(t, SLOTQ_FOREVER, c, NULL));
  slotq_cancel_release(c);
  /* A caller on another thread acquires it: the container wakes. */
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  next_job j = {d, 0, NULL, -99, NULL, 0};
  run_next(&j);
  assert_ok(j.rc);
  assert_ok(slotq_token_acquire(j.tok));
  assert_ok(slotq_token_wait(t, SLOTQ_FOREVER, NULL, &st));
  assert_int_equal(st, SLOTQ_TOKEN_ACQUIRED);
  assert_status(SLOTQ_ETIMEDOUT, slotq_token_wait_closed(t, MS(5), NULL));
  assert_ok(slotq_token_close(j.tok, NULL));
  assert_ok(slotq_token_wait_closed(t, SLOTQ_FOREVER, NULL));
  slotq_token_release(j.tok);
  slotq_dequeuer_free(d);
  slotq_token_release(t);
  slotq_queue_release(q);
}

typedef struct closed_job {
  slotq_token_t *tok;
  int rc;
} closed_job;

static void *run_wait_closed(void *arg) {
  closed_job *j = (closed_job *)arg;
  j->rc = slotq_token_wait_closed(j->tok, SLOTQ_FOREVER, NULL);
  return NULL;
}

/* A slot without a close callback is closed in one step: a container
 * asleep in slotq_token_wait_closed wakes, and a second close is refused. */
static void close_without_a_callback_wakes_a_blocked_wait_closed(void **state) {
  (void)state;
  static const slotq_slot_ops no_ops = {NULL, NULL, NULL, NULL, NULL};
  slotq_queue_t *q = test_queue();
  slotq_token_t *t, *got;
  assert_ok(slotq_queue_slot(q, NULL, &no_ops, &t));
  closed_job j = {t, -99};
  pthread_t th;
  pthread_create(&th, NULL, run_wait_closed, &j);
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  assert_ok(slotq_token_acquire(got));
  slotq_dequeuer_free(d);
  sleep_ms(20); /* let the container fall asleep (the test holds either way) */
  int st = -1, closed = -1;
  assert_ok(slotq_token_state_get(t, &st, &closed));
  assert_int_equal(st, SLOTQ_TOKEN_ACQUIRED);
  assert_int_equal(closed, 0);
  int rc = -1;
  assert_ok(slotq_token_close(got, &rc));
  assert_int_equal(rc, 0);
  pthread_join(th, NULL);
  assert_ok(j.rc);
  assert_ok(slotq_token_state_get(t, &st, &closed));
  assert_int_equal(closed, 1);
  assert_status(SLOTQ_EGONE, slotq_token_close(got, NULL));
  slotq_token_release(got);
  slotq_token_release(t);
  slotq_queue_release(q);
}

/* ---- armed (event-driven) dequeuers -------------------------------------- */

typedef struct notify_rec {
  atomic_int count;
  slotq_dequeuer_t *deq;
  int collect;          /* collect the token inside the callback */
  int free_in_callback; /* free the dequeuer inside the callback */
  int collected_rc;
  slotq_token_t *collected;
} notify_rec;

static void on_ready(void *arg) {
  notify_rec *r = (notify_rec *)arg;
  atomic_fetch_add(&r->count, 1);
  if (r->collect) r->collected_rc = slotq_dequeuer_next(r->deq, 0, NULL, &r->collected);
  if (r->free_in_callback) slotq_dequeuer_free(r->deq);
}

static void armed_dequeuer_is_notified_when_a_slot_comes(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  notify_rec r = {0};
  r.deq = d;
  assert_ok(slotq_dequeuer_set_notify(d, on_ready, &r));
  int fd = -1;
  assert_ok(slotq_dequeuer_fd(d, &fd));
  assert_true(fd >= 0);
  assert_ok(slotq_dequeuer_arm(d));
  assert_int_equal(atomic_load(&r.count), 0);
  struct pollfd p = {fd, POLLIN, 0};
  assert_int_equal(poll(&p, 1, 0), 0);
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t, *got;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_int_equal(atomic_load(&r.count), 1);
  assert_int_equal(poll(&p, 1, 0), 1);
  uint64_t v = 0;
  assert_int_equal(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
  assert_int_equal(v, 1);
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  assert_ptr_equal(got, t);
  assert_ok(slotq_token_acquire(got));
  slotq_token_release(got);
  /* One notification per arm. */
  slotq_token_t *t2;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t2));
  assert_int_equal(atomic_load(&r.count), 1);
  assert_ok(slotq_eject(q, t2));
  slotq_token_release(t2);
  slotq_dequeuer_free(d);
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void arming_with_an_idle_slot_notifies_at_once(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  notify_rec r = {0};
  r.deq = d;
  r.collect = 1;
  assert_ok(slotq_dequeuer_set_notify(d, on_ready, &r));
  assert_ok(slotq_dequeuer_arm(d));
  assert_int_equal(atomic_load(&r.count), 1);
  assert_ok(r.collected_rc);
  assert_ptr_equal(r.collected, t);
  slotq_token_release(r.collected);
  /* Never acquired: freeing the dequeuer gives the slot back. */
  slotq_dequeuer_free(d);
  size_t len = 0;
  assert_ok(slotq_queue_len(q, &len));
  assert_int_equal(len, 1);
  assert_ok(slotq_eject(q, t));
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void armed_dequeuer_is_notified_on_stop_and_cancel(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_dequeuer_t *d;
  notify_rec r = {0};
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  assert_ok(slotq_dequeuer_set_notify(d, on_ready, &r));
  assert_ok(slotq_dequeuer_arm(d));
  assert_ok(slotq_dequeuer_stop(d));
  assert_int_equal(atomic_load(&r.count), 1);
  slotq_token_t *t;
  assert_status(SLOTQ_ESTOPPED, slotq_dequeuer_next(d, 0, NULL, &t));
  assert_status(SLOTQ_ESTOPPED, slotq_dequeuer_arm(d));
  assert_int_equal(atomic_load(&r.count), 2);
  slotq_dequeuer_free(d);

  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  notify_rec r2 = {0};
  assert_ok(slotq_start_dequeuer(q, c, &d));
  assert_ok(slotq_dequeuer_set_notify(d, on_ready, &r2));
  assert_ok(slotq_dequeuer_arm(d));
  assert_ok(slotq_cancel_cancel(c));
  assert_int_equal(atomic_load(&r2.count), 1);
  assert_status(SLOTQ_ECANCELED, slotq_dequeuer_next(d, 0, NULL, &t));
  /* A cancelled, no longer armed dequeuer does not take slots. */
  test_slot s;
  test_slot_init(&s);
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  size_t len = 0;
  assert_ok(slotq_queue_len(q, &len));
  assert_int_equal(len, 1);
  slotq_dequeuer_free(d);
  slotq_cancel_release(c);
  assert_ok(slotq_eject(q, t));
  slotq_token_release(t);
  slotq_queue_release(q);
}

/* What a dequeuer holds when it is freed, each way it can be held: an
 * acquired slot stays the caller's, an ejected one is let go, a lent one
 * goes back (also after a stop), and an armed dequeuer leaves the waiters. */
static void free_lets_go_of_each_kind_of_slot_it_holds(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *offer, *tok;
  slotq_dequeuer_t *d;
  size_t len = 0;

  /* Acquired: still the caller's to use; released once everybody let go. */
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &offer));
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &tok));
  assert_ok(slotq_token_acquire(tok));
  slotq_dequeuer_free(d);
  assert_ok(slotq_token_exec(tok, NULL, NULL, NULL));
  assert_ok(slotq_token_close(tok, NULL));
  slotq_token_release(offer);
  assert_int_equal(atomic_load(&s.releases), 0); /* the caller still holds it */
  slotq_token_release(tok);
  assert_int_equal(atomic_load(&s.releases), 1);

  /* Ejected while lent: closed once, and let go by the dequeuer. */
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &offer));
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &tok));
  assert_ok(slotq_eject(q, offer));
  slotq_dequeuer_free(d);
  assert_int_equal(atomic_load(&s.closes), 2);
  assert_ok(slotq_queue_len(q, &len));
  assert_int_equal(len, 0);
  slotq_token_release(tok);
  slotq_token_release(offer);
  assert_int_equal(atomic_load(&s.releases), 2);

  /* Lent and not acquired, with or without a stop first: back on the stack. */
  for (int stop_first = 0; stop_first < 2; stop_first++) {
    assert_ok(slotq_queue_slot(q, &s, &test_ops, &offer));
    assert_ok(slotq_start_dequeuer(q, NULL, &d));
    assert_ok(slotq_dequeuer_next(d, 0, NULL, &tok));
    if (stop_first) assert_ok(slotq_dequeuer_stop(d));
    slotq_dequeuer_free(d);
    assert_ok(slotq_queue_len(q, &len));
    assert_int_equal(len, 1);
    int st = -1;
    assert_ok(slotq_token_state_get(tok, &st, NULL));
    assert_int_equal(st, SLOTQ_TOKEN_QUEUED);
    slotq_token_release(tok);
    assert_ok(slotq_eject(q, offer));
    slotq_token_release(offer);
  }

  /* Armed on an empty queue: freed, it is no longer a waiter, so a slot
   * queued later stays on the stack and nobody is notified. */
  notify_rec r = {0};
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  r.deq = d;
  assert_ok(slotq_dequeuer_set_notify(d, on_ready, &r));
  assert_ok(slotq_dequeuer_arm(d));
  slotq_dequeuer_free(d);
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &offer));
  assert_ok(slotq_queue_len(q, &len));
  assert_int_equal(len, 1);
  assert_int_equal(atomic_load(&r.count), 0);
  assert_ok(slotq_eject(q, offer));
  slotq_token_release(offer);
  assert_int_equal(atomic_load(&s.releases), 5);
  slotq_queue_release(q);
}

/* Regression: a slot handed to an armed dequeuer and ejected before the
 * host collected it was returned by next (an ejected token handed out). */
static void slot_ejected_before_collection_is_not_handed_out(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  notify_rec r = {0};
  assert_ok(slotq_dequeuer_set_notify(d, on_ready, &r));
  assert_ok(slotq_dequeuer_arm(d));
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t, *got = NULL;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_int_equal(atomic_load(&r.count), 1);
  assert_ok(slotq_eject(q, t));
  assert_status(SLOTQ_ETIMEDOUT, slotq_dequeuer_next(d, 0, NULL, &got));
  assert_null(got);
  /* Arming again does not notify for it either. */
  assert_ok(slotq_dequeuer_arm(d));
  assert_int_equal(atomic_load(&r.count), 1);
  slotq_dequeuer_free(d);
  slotq_token_release(t);
  assert_int_equal(atomic_load(&s.releases), 1);
  slotq_queue_release(q);
}

static void dequeuer_freed_from_its_own_callback(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  notify_rec r = {0};
  r.deq = d;
  r.free_in_callback = 1;
  assert_ok(slotq_dequeuer_set_notify(d, on_ready, &r));
  assert_ok(slotq_dequeuer_arm(d));
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_int_equal(atomic_load(&r.count), 1);
  /* The uncollected slot went back to the queue when the dequeuer was freed. */
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_QUEUED);
  assert_ok(slotq_eject(q, t));
  slotq_token_release(t);
  slotq_queue_release(q);
}

/* Freeing a dequeuer whose notification runs on another thread waits for
 * that callback to return, asleep: it must not spin while the host's
 * callback takes its time (it used to yield in a loop). */
typedef struct slow_notify {
  atomic_int entered, may_return, returned;
} slow_notify;

static void on_ready_slowly(void *arg) {
  slow_notify *n = (slow_notify *)arg;
  atomic_store(&n->entered, 1);
  while (!atomic_load(&n->may_return)) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  atomic_store(&n->returned, 1);
}

typedef struct offer_job {
  slotq_queue_t *q;
  test_slot slot;
  slotq_token_t *tok;
} offer_job;

static void *offer_slot(void *arg) {
  offer_job *j = (offer_job *)arg;
  test_slot_init(&j->slot);
  /* The notification runs here, on this thread, once the lock is released. */
  assert_ok(slotq_queue_slot(j->q, &j->slot, &test_ops, &j->tok));
  return NULL;
}

static void *release_later(void *arg) {
  slow_notify *n = (slow_notify *)arg;
  struct timespec ts = {0, 200 * 1000000};
  nanosleep(&ts, NULL);
  atomic_store(&n->may_return, 1);
  return NULL;
}

static int64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void free_sleeps_until_a_notification_in_flight_returns(void **state) {
  (void)state;
  slotq_queue_t *q;
  assert_ok(slotq_queue_create("f", 1, &q));
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  slow_notify n = {0};
  assert_ok(slotq_dequeuer_set_notify(d, on_ready_slowly, &n));
  assert_ok(slotq_dequeuer_arm(d));
  offer_job job = {.q = q};
  pthread_t offerer, releaser;
  assert_int_equal(pthread_create(&offerer, NULL, offer_slot, &job), 0);
  while (!atomic_load(&n.entered)) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(pthread_create(&releaser, NULL, release_later, &n), 0);
  int64_t wall0 = slotq_now_ns(), cpu0 = thread_cpu_ns();
  slotq_dequeuer_free(d);
  int64_t wall = slotq_now_ns() - wall0, cpu = thread_cpu_ns() - cpu0;
  assert_int_equal(atomic_load(&n.returned), 1); /* not before the callback returned */
  print_message("free waited %.1f ms, using %.2f ms of CPU\n", (double)wall / 1e6,
                (double)cpu / 1e6);
  assert_true(wall >= 100 * 1000000LL);
  assert_true(cpu < wall / 4); /* asleep, not spinning or yielding */
  pthread_join(offerer, NULL);
  pthread_join(releaser, NULL);
  /* The uncollected slot went back to the queue. */
  assert_int_equal(test_token_state(job.tok), SLOTQ_TOKEN_QUEUED);
  assert_ok(slotq_eject(q, job.tok));
  slotq_token_release(job.tok);
  slotq_queue_release(q);
}

/* A thread blocked in next is woken with a slot, which is ejected before
 * it gets there, and the dequeuer is armed again on another thread: the
 * wake was undone, so next waits on (it returned SLOTQ_OK without a token).
 * Both threads share CPU 0 and the waiter runs at SCHED_IDLE, so that it
 * seldom runs between the wake and the re-arm. Seldom, not never: the
 * scheduler still gives an idle-class thread a slice now and then, most of
 * all on a loaded machine, and a waiter that runs before the eject takes
 * the first slot, as it should. Such a round stages nothing and is not
 * counted; the test wants 20 rounds that did. */
typedef struct undone_wake {
  slotq_dequeuer_t *d;
  atomic_int parked;
  int rc;
  slotq_token_t *tok;
} undone_wake;

static int pin_to_cpu0(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *wait_low(void *arg) {
  undone_wake *u = (undone_wake *)arg;
  struct sched_param sp = {0};
  if (pin_to_cpu0() == 0) pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
  atomic_store(&u->parked, 1);
  u->rc = slotq_dequeuer_next(u->d, SLOTQ_FOREVER, NULL, &u->tok);
  return NULL;
}

static void a_wake_undone_by_a_rearm_is_not_a_slot(void **state) {
  (void)state;
  cpu_set_t old;
  assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof(old), &old), 0);
  if (pin_to_cpu0() != 0) {
    print_message("skipped: cannot run on CPU 0 here\n");
    skip();
  }
  static const slotq_slot_ops no_ops = {NULL, NULL, NULL, NULL, NULL};
  int staged = 0, early = 0;
  for (int i = 0; i < 200 && staged < 20; i++) {
    slotq_queue_t *q = test_queue();
    undone_wake u;
    memset(&u, 0, sizeof(u));
    assert_ok(slotq_start_dequeuer(q, NULL, &u.d));
    pthread_t th;
    pthread_create(&th, NULL, wait_low, &u);
    while (!atomic_load(&u.parked)) usleep(1000);
    usleep(2000);                       /* asleep in next */
    assert_ok(slotq_dequeuer_arm(u.d)); /* armed while a thread blocks in next */
    slotq_token_t *t, *later;
    assert_ok(slotq_queue_slot(q, NULL, &no_ops, &t)); /* handed to d: wakes the waiter */
    assert_ok(slotq_eject(q, t));
    assert_ok(slotq_dequeuer_arm(u.d)); /* gives the ejected slot back, lists d again */
    usleep(2000);
    assert_ok(slotq_queue_slot(q, NULL, &no_ops, &later)); /* for the waiter, still waiting */
    pthread_join(th, NULL);
    assert_int_equal(u.rc, SLOTQ_OK);
    if (u.tok == t) {
      early++; /* ran before the eject: nothing was staged */
    } else {
      assert_ptr_equal(u.tok, later); /* was NULL */
      staged++;
    }
    slotq_token_release(u.tok);
    slotq_token_release(later);
    slotq_token_release(t);
    slotq_dequeuer_free(u.d);
    slotq_queue_release(q);
  }
  pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
  print_message("%d rounds staged the undone wake, %d ran early\n", staged, early);
  if (staged < 20) {
    print_message("skipped: the scheduler ran the waiter early in %d of %d rounds\n", early,
                  staged + early);
    skip();
  }
}

/* A blocked next does not fire its cancellation token when it finds the
 * token's deadline passed: that would run the token's callbacks (host code,
 * which may wait in next itself) on this thread in the middle of the wait.
 * The timer thread fires it. Each round starts next within microseconds of
 * the deadline, while another deadline's slow callback holds the timer. */
typedef struct fire_in_wait {
  pthread_t waiter;
  atomic_int in_next, hits;
} fire_in_wait;
static fire_in_wait g_fw;

static void note_where_it_runs(void *arg) {
  (void)arg;
  if (atomic_load(&g_fw.in_next) && pthread_equal(pthread_self(), g_fw.waiter)) {
    atomic_fetch_add(&g_fw.hits, 1);
  }
}

static void hold_the_timer(void *arg) {
  (void)arg;
  usleep(3000);
}

static void a_blocked_next_runs_no_cancel_callbacks(void **state) {
  (void)state;
  memset(&g_fw, 0, sizeof(g_fw));
  g_fw.waiter = pthread_self();
  slotq_queue_t *q = test_queue();
  unsigned seed = 1;
  for (int i = 0; i < 200; i++) {
    slotq_dequeuer_t *d;
    assert_ok(slotq_start_dequeuer(q, NULL, &d));
    int64_t dl = slotq_now_ns() + 200000;
    slotq_cancel_t *busy, *p, *c;
    slotq_cancel_reg_t *rb, *rc;
    assert_ok(slotq_cancel_create_deadline(NULL, dl - 100000, &busy));
    assert_ok(slotq_cancel_on_cancel(busy, hold_the_timer, NULL, &rb));
    assert_ok(slotq_cancel_create_deadline(NULL, dl, &p));
    assert_ok(slotq_cancel_create_child(p, &c));
    assert_ok(slotq_cancel_on_cancel(c, note_where_it_runs, NULL, &rc));
    int64_t delta = (int64_t)(rand_r(&seed) % 3000);
    while (slotq_now_ns() < dl - delta) {
    }
    atomic_store(&g_fw.in_next, 1);
    slotq_token_t *tok = NULL;
    int r = slotq_dequeuer_next(d, SLOTQ_FOREVER, p, &tok);
    atomic_store(&g_fw.in_next, 0);
    assert_int_equal(r, SLOTQ_ECANCELED);
    slotq_cancel_unregister(rc, NULL);
    slotq_cancel_unregister(rb, NULL);
    slotq_cancel_release(c);
    slotq_cancel_release(p);
    slotq_cancel_release(busy);
    slotq_dequeuer_free(d);
  }
  assert_int_equal(atomic_load(&g_fw.hits), 0);
  slotq_queue_release(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(blocked_next_gets_a_slot_queued_later),
      cmocka_unit_test(stop_wakes_a_blocked_next_at_once),
      cmocka_unit_test(dequeuer_cancel_wakes_a_blocked_next),
      cmocka_unit_test(call_cancel_wakes_a_blocked_next),
      cmocka_unit_test(deadline_token_ends_a_blocked_next),
      cmocka_unit_test(timeout_returns_etimedout),
      cmocka_unit_test(one_slot_goes_to_the_oldest_waiter_the_others_keep_waiting),
      cmocka_unit_test(stop_and_cancel_give_a_lent_slot_back_at_once),
      cmocka_unit_test(a_slot_given_back_can_still_be_acquired_by_its_old_borrower),
      cmocka_unit_test(free_lets_go_of_each_kind_of_slot_it_holds),
      cmocka_unit_test(second_thread_in_next_is_refused),
      cmocka_unit_test(blocked_token_wait_wakes_on_acquire),
      cmocka_unit_test(close_without_a_callback_wakes_a_blocked_wait_closed),
      cmocka_unit_test(armed_dequeuer_is_notified_when_a_slot_comes),
      cmocka_unit_test(arming_with_an_idle_slot_notifies_at_once),
      cmocka_unit_test(armed_dequeuer_is_notified_on_stop_and_cancel),
      cmocka_unit_test(slot_ejected_before_collection_is_not_handed_out),
      cmocka_unit_test(dequeuer_freed_from_its_own_callback),
      cmocka_unit_test(free_sleeps_until_a_notification_in_flight_returns),
      cmocka_unit_test(a_wake_undone_by_a_rearm_is_not_a_slot),
      cmocka_unit_test(a_blocked_next_runs_no_cancel_callbacks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
