/* Cancellation tokens: cancel, children, deadlines, callbacks and their
 * (un)registration, including from inside callbacks. */
#include <pthread.h>
#include <unistd.h>

#include "testutil.h"

static int reason_of(slotq_cancel_t *c) {
  int r = -99;
  assert_ok(slotq_cancel_reason(c, &r));
  return r;
}

static void count_cb(void *arg) { atomic_fetch_add((atomic_int *)arg, 1); }

static void cancel_fires_once_and_runs_callbacks(void **state) {
  (void)state;
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  assert_int_equal(reason_of(c), SLOTQ_OK);
  atomic_int n = 0;
  slotq_cancel_reg_t *r1, *r2;
  assert_ok(slotq_cancel_on_cancel(c, count_cb, &n, &r1));
  assert_ok(slotq_cancel_on_cancel(c, count_cb, &n, &r2));
  assert_int_equal(atomic_load(&n), 0);
  assert_ok(slotq_cancel_cancel(c));
  assert_int_equal(atomic_load(&n), 2);
  assert_int_equal(reason_of(c), SLOTQ_ECANCELED);
  assert_ok(slotq_cancel_cancel(c)); /* harmless */
  assert_int_equal(atomic_load(&n), 2);
  int ran = -1;
  assert_ok(slotq_cancel_unregister(r1, &ran));
  assert_int_equal(ran, 1);
  assert_ok(slotq_cancel_unregister(r2, NULL));
  /* Registering on a fired token runs the callback at once. */
  slotq_cancel_reg_t *r3;
  assert_ok(slotq_cancel_on_cancel(c, count_cb, &n, &r3));
  assert_int_equal(atomic_load(&n), 3);
  assert_ok(slotq_cancel_unregister(r3, &ran));
  assert_int_equal(ran, 1);
  slotq_cancel_release(c);
}

static void unregistered_callback_never_runs(void **state) {
  (void)state;
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  atomic_int n = 0;
  slotq_cancel_reg_t *r;
  assert_ok(slotq_cancel_on_cancel(c, count_cb, &n, &r));
  int ran = -1;
  assert_ok(slotq_cancel_unregister(r, &ran));
  assert_int_equal(ran, 0);
  assert_ok(slotq_cancel_cancel(c));
  assert_int_equal(atomic_load(&n), 0);
  slotq_cancel_release(c);
}

static void child_fires_with_its_parent_not_the_reverse(void **state) {
  (void)state;
  slotq_cancel_t *p, *c1, *c2, *grand;
  assert_ok(slotq_cancel_create(&p));
  assert_ok(slotq_cancel_create_child(p, &c1));
  assert_ok(slotq_cancel_create_child(p, &c2));
  assert_ok(slotq_cancel_create_child(c1, &grand));
  assert_ok(slotq_cancel_cancel(c2));
  assert_int_equal(reason_of(p), SLOTQ_OK);
  assert_int_equal(reason_of(c1), SLOTQ_OK);
  atomic_int n = 0;
  slotq_cancel_reg_t *r;
  assert_ok(slotq_cancel_on_cancel(grand, count_cb, &n, &r));
  assert_ok(slotq_cancel_cancel(p));
  assert_int_equal(reason_of(c1), SLOTQ_ECANCELED);
  assert_int_equal(reason_of(grand), SLOTQ_ECANCELED);
  assert_int_equal(atomic_load(&n), 1);
  assert_ok(slotq_cancel_unregister(r, NULL));
  /* A child of a fired parent is born fired. */
  slotq_cancel_t *late;
  assert_ok(slotq_cancel_create_child(p, &late));
  assert_int_equal(reason_of(late), SLOTQ_ECANCELED);
  /* Releasing the parent first is fine: children keep it alive. */
  slotq_cancel_release(p);
  slotq_cancel_release(c2);
  slotq_cancel_release(c1);
  slotq_cancel_release(grand);
  slotq_cancel_release(late);
}

static void deadline_fires_callbacks_and_children(void **state) {
  (void)state;
  slotq_cancel_t *d, *child;
  int64_t deadline = slotq_now_ns() + MS(40);
  assert_ok(slotq_cancel_create_deadline(NULL, deadline, &d));
  assert_ok(slotq_cancel_create_child(d, &child));
  assert_int_equal(reason_of(d), SLOTQ_OK);
  atomic_int n = 0;
  slotq_cancel_reg_t *r1, *r2;
  assert_ok(slotq_cancel_on_cancel(d, count_cb, &n, &r1));
  assert_ok(slotq_cancel_on_cancel(child, count_cb, &n, &r2));
  /* The timer thread fires both at the deadline, without anybody asking. */
  int64_t t0 = slotq_now_ns();
  while (atomic_load(&n) < 2 && slotq_now_ns() - t0 < MS(5000)) usleep(1000);
  assert_int_equal(atomic_load(&n), 2);
  assert_true(slotq_now_ns() >= deadline); /* never early */
  assert_int_equal(reason_of(d), SLOTQ_ETIMEDOUT);
  assert_int_equal(reason_of(child), SLOTQ_ETIMEDOUT);
  assert_ok(slotq_cancel_unregister(r1, NULL));
  assert_ok(slotq_cancel_unregister(r2, NULL));
  slotq_cancel_release(child);
  slotq_cancel_release(d);
}

/* A deadline that passed first stays the reason, even when the token is
 * cancelled (itself or through its parent) before anybody noticed it. */
static void passed_deadline_wins_over_a_later_cancel(void **state) {
  (void)state;
  slotq_cancel_t *p, *c, *d;
  assert_ok(slotq_cancel_create(&p));
  assert_ok(slotq_cancel_create_deadline(p, slotq_now_ns() + MS(5), &c));
  assert_ok(slotq_cancel_create_deadline(NULL, slotq_now_ns() + MS(5), &d));
  usleep(10 * 1000);
  assert_ok(slotq_cancel_cancel(p));
  assert_ok(slotq_cancel_cancel(d));
  assert_int_equal(reason_of(p), SLOTQ_ECANCELED);
  assert_int_equal(reason_of(c), SLOTQ_ETIMEDOUT);
  assert_int_equal(reason_of(d), SLOTQ_ETIMEDOUT);
  slotq_cancel_release(c);
  slotq_cancel_release(d);
  slotq_cancel_release(p);
}

static void past_deadline_is_born_fired(void **state) {
  (void)state;
  slotq_cancel_t *d;
  assert_ok(slotq_cancel_create_deadline(NULL, slotq_now_ns() - 1, &d));
  assert_int_equal(reason_of(d), SLOTQ_ETIMEDOUT);
  atomic_int n = 0;
  slotq_cancel_reg_t *r;
  assert_ok(slotq_cancel_on_cancel(d, count_cb, &n, &r));
  assert_int_equal(atomic_load(&n), 1);
  assert_ok(slotq_cancel_unregister(r, NULL));
  /* A child's deadline is at most its parent's. */
  slotq_cancel_t *p, *c;
  assert_ok(slotq_cancel_create_deadline(NULL, slotq_now_ns() + MS(10), &p));
  assert_ok(slotq_cancel_create_deadline(p, slotq_now_ns() + MS(60000), &c));
  slotq_queue_t *q = test_queue();
  int64_t t0 = slotq_now_ns();
  assert_status(SLOTQ_ECANCELED, slotq_queue_wait_signal(q, SLOTQ_FOREVER, c));
  assert_true(slotq_now_ns() - t0 < MS(5000));
  assert_int_equal(reason_of(c), SLOTQ_ETIMEDOUT);
  slotq_queue_release(q);
  slotq_cancel_release(c);
  slotq_cancel_release(p);
  slotq_cancel_release(d);
}

/* Callbacks that re-enter: cancel another token, unregister themselves. */
typedef struct reenter {
  slotq_cancel_t *other;
  slotq_cancel_reg_t *self;
  atomic_int runs;
} reenter;

static void cancel_other(void *arg) {
  reenter *r = (reenter *)arg;
  atomic_fetch_add(&r->runs, 1);
  assert_ok(slotq_cancel_cancel(r->other));
}

static void unregister_self(void *arg) {
  reenter *r = (reenter *)arg;
  atomic_fetch_add(&r->runs, 1);
  int ran = -1;
  assert_ok(slotq_cancel_unregister(r->self, &ran));
  assert_int_equal(ran, 1);
}

static void callbacks_may_reenter(void **state) {
  (void)state;
  slotq_cancel_t *a, *b;
  assert_ok(slotq_cancel_create(&a));
  assert_ok(slotq_cancel_create(&b));
  reenter r1 = {b, NULL, 0}, r2 = {NULL, NULL, 0};
  slotq_cancel_reg_t *reg1;
  assert_ok(slotq_cancel_on_cancel(a, cancel_other, &r1, &reg1));
  assert_ok(slotq_cancel_on_cancel(b, unregister_self, &r2, &r2.self));
  assert_ok(slotq_cancel_cancel(a));
  assert_int_equal(atomic_load(&r1.runs), 1);
  assert_int_equal(atomic_load(&r2.runs), 1);
  assert_int_equal(reason_of(b), SLOTQ_ECANCELED);
  assert_ok(slotq_cancel_unregister(reg1, NULL));
  /* Self-unregistration when registering on a token that already fired. */
  reenter r3 = {NULL, NULL, 0};
  assert_ok(slotq_cancel_on_cancel(b, unregister_self, &r3, &r3.self));
  assert_int_equal(atomic_load(&r3.runs), 1);
  slotq_cancel_release(a);
  slotq_cancel_release(b);
}

/* Unregister waits for a callback running on another thread. */
typedef struct slow {
  atomic_int started, finished;
} slow;

static void slow_cb(void *arg) {
  slow *s = (slow *)arg;
  atomic_store(&s->started, 1);
  usleep(50 * 1000);
  atomic_store(&s->finished, 1);
}

static void *cancel_thread(void *arg) {
  slotq_cancel_cancel((slotq_cancel_t *)arg);
  return NULL;
}

static void unregister_waits_for_a_running_callback(void **state) {
  (void)state;
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  slow s = {0, 0};
  slotq_cancel_reg_t *r;
  assert_ok(slotq_cancel_on_cancel(c, slow_cb, &s, &r));
  pthread_t th;
  pthread_create(&th, NULL, cancel_thread, c);
  while (!atomic_load(&s.started)) usleep(100);
  int ran = -1;
  assert_ok(slotq_cancel_unregister(r, &ran));
  assert_int_equal(ran, 1);
  assert_int_equal(atomic_load(&s.finished), 1);
  pthread_join(th, NULL);
  slotq_cancel_release(c);
}

/* A callback run at registration (the token had fired) may unregister
 * itself and drop the token's last reference: the registration must not
 * touch the token afterwards (ASan saw a use after free). */
typedef struct last_ref {
  slotq_cancel_t *token;
  slotq_cancel_reg_t *reg;
  atomic_int ran;
} last_ref;

static void drop_the_last_reference(void *arg) {
  last_ref *l = (last_ref *)arg;
  atomic_store(&l->ran, 1);
  slotq_cancel_unregister(l->reg, NULL);
  slotq_cancel_release(l->token);
}

static void a_callback_run_at_registration_may_drop_the_last_reference(void **state) {
  (void)state;
  last_ref l;
  memset(&l, 0, sizeof(l));
  assert_ok(slotq_cancel_create(&l.token));
  assert_ok(slotq_cancel_cancel(l.token));
  /* *reg is written before the callback runs, so that it can unregister. */
  assert_ok(slotq_cancel_on_cancel(l.token, drop_the_last_reference, &l, &l.reg));
  assert_int_equal(atomic_load(&l.ran), 1);
  /* The same with a deadline that has passed but fired nowhere yet. */
  memset(&l, 0, sizeof(l));
  assert_ok(slotq_cancel_create_deadline(NULL, slotq_now_ns() - 1, &l.token));
  assert_ok(slotq_cancel_on_cancel(l.token, drop_the_last_reference, &l, &l.reg));
  assert_int_equal(atomic_load(&l.ran), 1);
}

/* Releasing a child while its parent's cancel runs the child's callbacks on
 * another thread does not wait for them (it did: a host holding a lock the
 * callback needs deadlocked). */
typedef struct child_release {
  slotq_cancel_t *parent, *child;
  slotq_cancel_reg_t *reg;
  atomic_int inside, released, saw_release;
} child_release;
static child_release g_cr;

static void child_cb_waits_for_the_release(void *arg) {
  (void)arg;
  slotq_cancel_unregister(g_cr.reg, NULL); /* drops the registration's reference */
  atomic_store(&g_cr.inside, 1);
  for (int i = 0; i < 5000 && !atomic_load(&g_cr.released); i++) usleep(1000);
  atomic_store(&g_cr.saw_release, atomic_load(&g_cr.released));
}

static void *cancel_the_parent(void *arg) {
  (void)arg;
  slotq_cancel_cancel(g_cr.parent);
  return NULL;
}

static void releasing_a_child_never_waits_for_its_callbacks(void **state) {
  (void)state;
  memset(&g_cr, 0, sizeof(g_cr));
  assert_ok(slotq_cancel_create(&g_cr.parent));
  assert_ok(slotq_cancel_create_child(g_cr.parent, &g_cr.child));
  assert_ok(slotq_cancel_on_cancel(g_cr.child, child_cb_waits_for_the_release, NULL, &g_cr.reg));
  pthread_t th;
  pthread_create(&th, NULL, cancel_the_parent, NULL);
  while (!atomic_load(&g_cr.inside)) usleep(1000);
  slotq_cancel_release(g_cr.child); /* the last reference but the cancel's */
  atomic_store(&g_cr.released, 1);
  pthread_join(th, NULL);
  assert_int_equal(atomic_load(&g_cr.saw_release), 1);
  slotq_cancel_release(g_cr.parent);
}

/* A child that inherited its parent's deadline fires with the parent's
 * reason, even when the deadline passes while the cancel is on its way. */
static void sleep_60ms(void *arg) {
  (void)arg;
  usleep(60 * 1000);
}

static void a_child_keeps_its_parent_s_reason(void **state) {
  (void)state;
  slotq_cancel_t *parent, *child;
  assert_ok(slotq_cancel_create_deadline(NULL, slotq_now_ns() + MS(30), &parent));
  slotq_cancel_reg_t *slow;
  assert_ok(slotq_cancel_on_cancel(parent, sleep_60ms, NULL, &slow)); /* runs before the child */
  assert_ok(slotq_cancel_create_child(parent, &child));
  assert_ok(slotq_cancel_cancel(parent));
  assert_int_equal(reason_of(parent), SLOTQ_ECANCELED);
  assert_int_equal(reason_of(child), SLOTQ_ECANCELED); /* was SLOTQ_ETIMEDOUT */
  slotq_cancel_unregister(slow, NULL);
  slotq_cancel_release(child);
  slotq_cancel_release(parent);
}

/* A deadline at the far end of the clock: the timer thread waits for it
 * without spinning (its wait overflowed and returned at once), so that
 * unregistering is not starved of the timer's lock. */
static void a_deadline_at_the_end_of_time_is_watched_quietly(void **state) {
  (void)state;
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create_deadline(NULL, INT64_MAX - 1, &c));
  atomic_int n = 0;
  slotq_cancel_reg_t *r;
  assert_ok(slotq_cancel_on_cancel(c, count_cb, &n, &r));
  usleep(20 * 1000); /* the timer thread waits on it */
  int ran = -1;
  assert_ok(slotq_cancel_unregister(r, &ran));
  assert_int_equal(ran, 0);
  slotq_cancel_release(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cancel_fires_once_and_runs_callbacks),
      cmocka_unit_test(unregistered_callback_never_runs),
      cmocka_unit_test(child_fires_with_its_parent_not_the_reverse),
      cmocka_unit_test(deadline_fires_callbacks_and_children),
      cmocka_unit_test(passed_deadline_wins_over_a_later_cancel),
      cmocka_unit_test(past_deadline_is_born_fired),
      cmocka_unit_test(callbacks_may_reenter),
      cmocka_unit_test(unregister_waits_for_a_running_callback),
      cmocka_unit_test(a_callback_run_at_registration_may_drop_the_last_reference),
      cmocka_unit_test(releasing_a_child_never_waits_for_its_callbacks),
      cmocka_unit_test(a_child_keeps_its_parent_s_reason),
      cmocka_unit_test(a_deadline_at_the_end_of_time_is_watched_quietly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
