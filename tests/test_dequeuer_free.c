/* Freeing a dequeuer while its cancellation token fires: the free waits
 * only for the firing to be done with the dequeuer, never for the
 * notification that the firing owes another dequeuer (the slot it gave back
 * went there); a callback on the firing thread may free it; and cancel,
 * free, stop and arm may race. */
#include <pthread.h>
#include <unistd.h>

#include "testutil.h"

static size_t queue_len(slotq_queue_t *q) {
  size_t len = 99;
  assert_ok(slotq_queue_len(q, &len));
  return len;
}

/* A holds the queue's one slot lent (its token `ca` not fired yet); B is
 * armed on the empty queue, so that the slot A gives back goes to B. */
typedef struct pair {
  slotq_queue_t *q;
  test_slot s;
  slotq_token_t *offer, *lent;
  slotq_cancel_t *ca;
  slotq_dequeuer_t *a, *b;
} pair;

static void pair_set_up(pair *p, slotq_notify_fn on_b, void *b_arg) {
  memset(p, 0, sizeof(*p));
  p->q = test_queue();
  test_slot_init(&p->s);
  assert_ok(slotq_queue_slot(p->q, &p->s, &test_ops, &p->offer));
  assert_ok(slotq_cancel_create(&p->ca));
  assert_ok(slotq_start_dequeuer(p->q, p->ca, &p->a));
  assert_ok(slotq_dequeuer_next(p->a, 0, NULL, &p->lent));
  assert_ok(slotq_start_dequeuer(p->q, NULL, &p->b));
  assert_ok(slotq_dequeuer_set_notify(p->b, on_b, b_arg));
  assert_ok(slotq_dequeuer_arm(p->b));
}

/* Frees B (A is freed by the test): the slot ends on the stack, once. */
static void pair_tear_down(pair *p) {
  slotq_dequeuer_free(p->b);
  slotq_cancel_release(p->ca);
  slotq_token_release(p->lent);
  assert_int_equal(queue_len(p->q), 1);
  assert_int_equal(test_token_state(p->offer), SLOTQ_TOKEN_QUEUED);
  assert_ok(slotq_eject(p->q, p->offer));
  slotq_token_release(p->offer);
  assert_int_equal(atomic_load(&p->s.closes), 1);
  assert_int_equal(atomic_load(&p->s.releases), 1);
  slotq_queue_release(p->q);
}

/* The host's callback of B waits for something the thread freeing A holds:
 * here, simply, the end of that free. It gives up after 5 s (the free used
 * to wait for this callback, so the two waited for each other). */
typedef struct b_waits {
  atomic_int inside, a_freed, saw_free;
} b_waits;

static void b_waits_for_the_free_of_a(void *arg) {
  b_waits *w = (b_waits *)arg;
  atomic_store(&w->inside, 1);
  for (int i = 0; i < 5000 && !atomic_load(&w->a_freed); i++) usleep(1000);
  atomic_store(&w->saw_free, atomic_load(&w->a_freed));
}

static void *cancel_thread(void *arg) {
  assert_ok(slotq_cancel_cancel((slotq_cancel_t *)arg));
  return NULL;
}

static void freeing_never_waits_for_another_dequeuer_s_notification(void **state) {
  (void)state;
  pair p;
  b_waits w = {0};
  pair_set_up(&p, b_waits_for_the_free_of_a, &w);
  /* A's token fires on thread X: OnCancel gives A's slot to B, and X runs
   * B's callback, which then waits for this thread. */
  pthread_t x;
  assert_int_equal(pthread_create(&x, NULL, cancel_thread, p.ca), 0);
  while (!atomic_load(&w.inside)) usleep(1000);
  int64_t t0 = slotq_now_ns();
  slotq_dequeuer_free(p.a);
  atomic_store(&w.a_freed, 1);
  int64_t waited = slotq_now_ns() - t0;
  pthread_join(x, NULL);
  if (!atomic_load(&w.saw_free)) {
    fail_msg("slotq_dequeuer_free(A) waited %.1f ms, until B's callback gave up waiting for it",
             (double)waited / 1e6);
  }
  /* B got the slot A gave back, as before. */
  slotq_token_t *got = NULL;
  assert_ok(slotq_dequeuer_next(p.b, 0, NULL, &got));
  assert_ptr_equal(got, p.offer);
  slotq_token_release(got);
  pair_tear_down(&p);
}

/* B's callback, run by the firing of A's token on that very thread, frees
 * A (whose cancel watch is still on the thread's stack); with `a_own`, A is
 * armed too and its own callback, delivered after B's, is dropped. */
typedef struct b_frees_a {
  slotq_dequeuer_t *a;
  atomic_int b_calls, a_calls;
} b_frees_a;

static void b_frees_a_cb(void *arg) {
  b_frees_a *f = (b_frees_a *)arg;
  atomic_fetch_add(&f->b_calls, 1);
  slotq_dequeuer_free(f->a);
}

static void count_a(void *arg) { atomic_fetch_add(&((b_frees_a *)arg)->a_calls, 1); }

static void a_callback_of_the_firing_thread_may_free_the_cancelled_dequeuer(void **state) {
  (void)state;
  for (int a_armed = 0; a_armed < 2; a_armed++) {
    pair p;
    b_frees_a f = {0};
    pair_set_up(&p, b_frees_a_cb, &f);
    f.a = p.a;
    if (a_armed) {
      assert_ok(slotq_dequeuer_set_notify(p.a, count_a, &f));
      assert_ok(slotq_dequeuer_arm(p.a)); /* listed after B: B still gets the slot */
    }
    assert_ok(slotq_cancel_cancel(p.ca));
    assert_int_equal(atomic_load(&f.b_calls), 1);
    assert_int_equal(atomic_load(&f.a_calls), 0); /* freed before it started */
    slotq_token_t *got = NULL;
    assert_ok(slotq_dequeuer_next(p.b, 0, NULL, &got));
    assert_ptr_equal(got, p.offer);
    slotq_token_release(got);
    pair_tear_down(&p);
  }
}

/* A token that fired before the dequeuer started runs the cancel watch on
 * the starting thread: the dequeuer is born stopped and frees at once. */
static void a_dequeuer_started_on_a_fired_token_frees_at_once(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  assert_ok(slotq_cancel_cancel(c));
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, c, &d));
  slotq_token_t *t = NULL;
  assert_status(SLOTQ_ECANCELED, slotq_dequeuer_next(d, 0, NULL, &t));
  assert_null(t);
  slotq_dequeuer_free(d);
  slotq_cancel_release(c);
  slotq_queue_release(q);
}

/* A's token fires, A is freed, and B is stopped or armed again, all at
 * once on four threads, many times: whatever the order, the slot ends on
 * the stack once, B is notified at most twice, and nothing is touched after
 * it was freed (the sanitizer builds check that). */
typedef struct race {
  pair p;
  pthread_barrier_t go;
  atomic_int b_calls;
  int stop_b;
} race;

static void count_b(void *arg) { atomic_fetch_add(&((race *)arg)->b_calls, 1); }

static void *race_cancel(void *arg) {
  race *r = (race *)arg;
  pthread_barrier_wait(&r->go);
  assert_ok(slotq_cancel_cancel(r->p.ca));
  return NULL;
}

static void *race_free(void *arg) {
  race *r = (race *)arg;
  pthread_barrier_wait(&r->go);
  slotq_dequeuer_free(r->p.a);
  return NULL;
}

static void *race_stop_or_arm(void *arg) {
  race *r = (race *)arg;
  pthread_barrier_wait(&r->go);
  if (r->stop_b) {
    assert_ok(slotq_dequeuer_stop(r->p.b));
  } else {
    assert_ok(slotq_dequeuer_arm(r->p.b));
  }
  return NULL;
}

static void cancel_free_stop_and_arm_may_race(void **state) {
  (void)state;
  race r;
  for (int i = 0; i < 2000; i++) {
    memset(&r, 0, sizeof(r));
    pair_set_up(&r.p, count_b, &r);
    r.stop_b = i & 1;
    pthread_barrier_init(&r.go, NULL, 4);
    pthread_t th[3];
    assert_int_equal(pthread_create(&th[0], NULL, race_cancel, &r), 0);
    assert_int_equal(pthread_create(&th[1], NULL, race_free, &r), 0);
    assert_int_equal(pthread_create(&th[2], NULL, race_stop_or_arm, &r), 0);
    pthread_barrier_wait(&r.go);
    for (int k = 0; k < 3; k++) pthread_join(th[k], NULL);
    pthread_barrier_destroy(&r.go);
    slotq_token_t *got = NULL;
    if (r.stop_b) {
      assert_status(SLOTQ_ESTOPPED, slotq_dequeuer_next(r.p.b, 0, NULL, &got));
    } else {
      /* Armed throughout, B got the slot whichever of cancel and free gave it back. */
      assert_ok(slotq_dequeuer_next(r.p.b, 0, NULL, &got));
      assert_ptr_equal(got, r.p.offer);
      slotq_token_release(got);
    }
    assert_true(atomic_load(&r.b_calls) <= 2);
    pair_tear_down(&r.p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(freeing_never_waits_for_another_dequeuer_s_notification),
      cmocka_unit_test(a_callback_of_the_firing_thread_may_free_the_cancelled_dequeuer),
      cmocka_unit_test(a_dequeuer_started_on_a_fired_token_frees_at_once),
      cmocka_unit_test(cancel_free_stop_and_arm_may_race),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
