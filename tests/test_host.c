/* The host loops (container offer, caller acquire, launcher step), the
 * launch policies and the metrics text. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

static slotq_call the_call(void) {
  slotq_call c;
  memset(&c, 0, sizeof(c));
  c.app_name = (slotq_str)SLOTQ_STR("app");
  c.path = (slotq_str)SLOTQ_STR("/host");
  c.idle_timeout = 30;
  return c;
}

static slotq_queue_t *queue_of(slotq_mgr_t *m) {
  slotq_call c = the_call();
  slotq_queue_t *q;
  assert_ok(slotq_mgr_get(m, &c, &q, NULL));
  assert_ok(slotq_queue_exit_state(q, SLOTQ_WAITER));
  return q;
}

/* ---- container offer ----------------------------------------------------- */

static void offer_times_out_idle_and_ejects(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t = (slotq_token_t *)&s;
  int64_t t0 = slotq_now_ns();
  assert_status(SLOTQ_ETIMEDOUT, slotq_container_offer(q, &s, &test_ops, MS(20), NULL, &t));
  assert_true(slotq_now_ns() - t0 >= MS(20));
  assert_null(t);
  assert_int_equal(atomic_load(&s.closes), 1);
  assert_int_equal(atomic_load(&s.trigger_state), SLOTQ_TOKEN_EJECTED);
  assert_int_equal(atomic_load(&s.releases), 1); /* nothing kept */
  size_t len = 9;
  assert_ok(slotq_queue_len(q, &len));
  assert_int_equal(len, 0);
  slotq_queue_release(q);
}

static void offer_cancelled_ejects(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  assert_ok(slotq_cancel_cancel(c));
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_status(SLOTQ_ECANCELED, slotq_container_offer(q, &s, &test_ops, SLOTQ_FOREVER, c, &t));
  assert_int_equal(atomic_load(&s.closes), 1);
  slotq_cancel_release(c);
  slotq_queue_release(q);
}

typedef struct offer_job {
  slotq_queue_t *q;
  test_slot slot;
  int rc;
  slotq_token_t *tok;
} offer_job;

static void *run_offer(void *p) {
  offer_job *j = (offer_job *)p;
  j->rc = slotq_container_offer(j->q, &j->slot, &test_ops, SLOTQ_FOREVER, NULL, &j->tok);
  if (j->rc == SLOTQ_OK) {
    /* Serve: wait until the caller gives the slot back. */
    assert_ok(slotq_token_wait_closed(j->tok, SLOTQ_FOREVER, NULL));
    slotq_token_release(j->tok);
  }
  return NULL;
}

/* ---- caller acquire ------------------------------------------------------ */

static void caller_gets_a_container_and_leaves_waiter(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_queue_t *q = queue_of(m);
  offer_job j;
  memset(&j, 0, sizeof(j));
  j.q = q;
  test_slot_init(&j.slot);
  pthread_t th;
  pthread_create(&th, NULL, run_offer, &j);
  slotq_call c = the_call();
  slotq_token_t *t;
  assert_ok(slotq_caller_acquire(m, &c, SLOTQ_FOREVER, 0, NULL, &t, NULL));
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_ACQUIRED);
  assert_ok(slotq_token_exec(t, NULL, NULL, NULL));
  assert_ok(slotq_token_close(t, NULL));
  slotq_token_release(t);
  pthread_join(th, NULL);
  assert_ok(j.rc);
  assert_int_equal(atomic_load(&j.slot.execs), 1);
  assert_int_equal(atomic_load(&j.slot.closes), 1);
  slotq_stats st;
  assert_ok(slotq_queue_stats(q, &st));
  assert_int_equal(st.states[SLOTQ_WAITER], 0);
  assert_int_equal(st.latency_count[SLOTQ_WAITER], 1);
  /* The launcher was pinged. */
  assert_ok(slotq_queue_wait_signal(q, 0, NULL));
  slotq_queue_release(q);
  slotq_mgr_destroy(m);
}

static void caller_times_out_and_pings_meanwhile(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_queue_t *q = queue_of(m);
  slotq_call c = the_call();
  slotq_token_t *t = NULL;
  int64_t t0 = slotq_now_ns();
  assert_status(SLOTQ_ETIMEDOUT, slotq_caller_acquire(m, &c, MS(60), MS(10), NULL, &t, NULL));
  assert_true(slotq_now_ns() - t0 >= MS(60));
  slotq_stats st;
  assert_ok(slotq_queue_stats(q, &st));
  assert_int_equal(st.states[SLOTQ_WAITER], 0);
  assert_int_equal(st.latency_count[SLOTQ_WAITER], 1);
  assert_ok(slotq_queue_wait_signal(q, 0, NULL));
  slotq_queue_release(q);
  slotq_mgr_destroy(m);
}

static void caller_reports_a_slots_own_error(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_queue_t *q = queue_of(m);
  test_slot s;
  test_slot_init(&s);
  s.error_rc = 99;
  slotq_token_t *offer, *t = NULL;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &offer));
  slotq_call c = the_call();
  int err = 0;
  assert_status(SLOTQ_ESLOT, slotq_caller_acquire(m, &c, MS(1000), 0, NULL, &t, &err));
  assert_int_equal(err, 99);
  assert_null(t);
  assert_int_equal(atomic_load(&s.closes), 1); /* closed, as the seed does */
  assert_int_equal(test_token_state(offer), SLOTQ_TOKEN_ACQUIRED);
  slotq_token_release(offer);
  slotq_queue_release(q);
  slotq_mgr_destroy(m);
}

static void caller_wait_after_a_get_that_made_the_queue(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_call c = the_call();
  slotq_queue_t *q;
  int is_new = 0;
  assert_ok(slotq_mgr_get(m, &c, &q, &is_new)); /* a Waiter now */
  assert_int_equal(is_new, 1);                  /* the host would start a launcher here */
  offer_job j;
  memset(&j, 0, sizeof(j));
  j.q = q;
  test_slot_init(&j.slot);
  pthread_t th;
  pthread_create(&th, NULL, run_offer, &j);
  slotq_token_t *t;
  assert_ok(slotq_caller_wait(q, SLOTQ_FOREVER, 0, NULL, &t, NULL));
  assert_ok(slotq_token_close(t, NULL));
  slotq_token_release(t);
  pthread_join(th, NULL);
  slotq_stats st;
  assert_ok(slotq_queue_stats(q, &st));
  assert_int_equal(st.states[SLOTQ_WAITER], 0); /* it exited the Waiter state */
  /* Without a Waiter to exit, nothing waits. */
  assert_status(SLOTQ_ESTATE, slotq_caller_wait(q, MS(10), 0, NULL, &t, NULL));
  assert_status(SLOTQ_EINVAL, slotq_caller_wait(NULL, 0, 0, NULL, &t, NULL));
  assert_status(SLOTQ_EINVAL, slotq_caller_wait(q, -3, 0, NULL, &t, NULL));
  assert_status(SLOTQ_EINVAL, slotq_caller_wait(q, 0, 0, NULL, NULL, NULL));
  slotq_queue_release(q);
  slotq_mgr_destroy(m);
}

static void caller_cancelled_and_overloaded(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_call c = the_call();
  slotq_cancel_t *cancel;
  assert_ok(slotq_cancel_create_deadline(NULL, slotq_now_ns() + MS(20), &cancel));
  slotq_token_t *t;
  assert_status(SLOTQ_ECANCELED, slotq_caller_acquire(m, &c, SLOTQ_FOREVER, 0, cancel, &t, NULL));
  slotq_cancel_release(cancel);
  assert_ok(slotq_mgr_set_max_waiters(m, 1));
  slotq_queue_t *q;
  assert_ok(slotq_mgr_get(m, &c, &q, NULL)); /* one waiter already */
  assert_status(SLOTQ_EOVERLOAD, slotq_caller_acquire(m, &c, MS(10), 0, NULL, &t, NULL));
  assert_ok(slotq_queue_exit_state(q, SLOTQ_WAITER));
  slotq_queue_release(q);
  slotq_mgr_destroy(m);
}

/* ---- launcher ------------------------------------------------------------ */

static void launcher_starts_on_signal_and_enters_starter(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_queue_t *q = queue_of(m);
  assert_ok(slotq_queue_enter_state(q, SLOTQ_WAITER)); /* a caller waits, nobody runs */
  assert_ok(slotq_queue_signal(q, NULL));
  int action = -1;
  slotq_stats st;
  assert_ok(slotq_launcher_step(m, q, NULL, SLOTQ_FOREVER, NULL, &action, &st));
  assert_int_equal(action, SLOTQ_LAUNCH_START);
  assert_int_equal(st.states[SLOTQ_WAITER], 1);
  assert_ok(slotq_queue_stats(q, &st));
  assert_int_equal(st.states[SLOTQ_STARTER], 1);
  /* Signalled again while one starts for the one waiter: nothing. */
  assert_ok(slotq_queue_signal(q, NULL));
  assert_ok(slotq_launcher_step(m, q, NULL, SLOTQ_FOREVER, NULL, &action, NULL));
  assert_int_equal(action, SLOTQ_LAUNCH_NONE);
  assert_ok(slotq_queue_exit_state_latency(q, SLOTQ_STARTER, 1000));
  assert_ok(slotq_queue_exit_state(q, SLOTQ_WAITER));
  slotq_queue_release(q);
  slotq_mgr_destroy(m);
}

static void launcher_deletes_an_idle_queue_after_inactivity(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_queue_t *q = queue_of(m);
  assert_ok(slotq_queue_enter_state(q, SLOTQ_RUNNER)); /* busy: not deleted */
  int action = -1;
  assert_ok(slotq_launcher_step(m, q, NULL, MS(10), NULL, &action, NULL));
  assert_int_equal(action, SLOTQ_LAUNCH_NONE);
  size_t count = 0;
  assert_ok(slotq_mgr_count(m, &count));
  assert_int_equal(count, 1);
  assert_ok(slotq_queue_exit_state(q, SLOTQ_RUNNER));
  assert_ok(slotq_launcher_step(m, q, NULL, MS(10), NULL, &action, NULL));
  assert_int_equal(action, SLOTQ_LAUNCH_DELETED);
  assert_ok(slotq_mgr_count(m, &count));
  assert_int_equal(count, 0);
  /* Cancellation ends a waiting step. */
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  assert_ok(slotq_cancel_cancel(c));
  assert_status(SLOTQ_ECANCELED, slotq_launcher_step(m, q, NULL, SLOTQ_FOREVER, c, &action, NULL));
  slotq_cancel_release(c);
  slotq_queue_release(q);
  slotq_mgr_destroy(m);
}

/* A queue the manager no longer holds is done with on the timeout only if
 * idle (the seed's deleteSlotQueue): its waiters still need containers. */
static void launcher_keeps_serving_a_busy_queue_the_manager_let_go(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_queue_t *other = test_queue(); /* never in m */
  assert_ok(slotq_queue_enter_state(other, SLOTQ_WAITER));
  int action = -1;
  assert_ok(slotq_launcher_step(m, other, NULL, MS(10), NULL, &action, NULL));
  assert_int_equal(action, SLOTQ_LAUNCH_START); /* was SLOTQ_LAUNCH_DELETED */
  assert_ok(slotq_queue_exit_state(other, SLOTQ_STARTER));
  assert_ok(slotq_queue_exit_state(other, SLOTQ_WAITER));
  assert_ok(slotq_launcher_step(m, other, NULL, MS(10), NULL, &action, NULL));
  assert_int_equal(action, SLOTQ_LAUNCH_DELETED); /* idle now */
  slotq_queue_release(other);
  slotq_mgr_destroy(m);
}

/* A bad policy is refused before the step waits: it consumes no signal and
 * deletes nothing. */
static void launcher_refuses_a_bad_policy_before_it_waits(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_queue_t *q = queue_of(m); /* idle */
  slotq_policy none = {SLOTQ_POLICY_CUSTOM, NULL, NULL}, odd = {42, NULL, NULL};
  int action = -1;
  assert_ok(slotq_queue_signal(q, NULL));
  assert_status(SLOTQ_EINVAL, slotq_launcher_step(m, q, &none, MS(10), NULL, &action, NULL));
  assert_ok(slotq_queue_wait_signal(q, 0, NULL)); /* still pending */
  int64_t t0 = slotq_now_ns();
  assert_status(SLOTQ_EINVAL, slotq_launcher_step(m, q, &odd, SLOTQ_FOREVER, NULL, &action, NULL));
  assert_true(slotq_now_ns() - t0 < MS(500)); /* did not wait */
  assert_status(SLOTQ_EINVAL, slotq_launcher_step(m, q, &odd, MS(10), NULL, &action, NULL));
  size_t count = 0;
  assert_ok(slotq_mgr_count(m, &count));
  assert_int_equal(count, 1); /* the idle queue was not deleted */
  assert_int_equal(action, -1);
  slotq_queue_release(q);
  slotq_mgr_destroy(m);
}

/* slotq_caller_wait with bad arguments changes nothing: the caller is still
 * a Waiter (the header's exception to "exits it on every outcome"). */
static void caller_wait_with_bad_arguments_changes_nothing(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_queue_t *q;
  slotq_call c = the_call();
  assert_ok(slotq_mgr_get(m, &c, &q, NULL));
  slotq_token_t *t = NULL;
  assert_status(SLOTQ_EINVAL, slotq_caller_wait(q, -5, 0, NULL, &t, NULL));
  assert_status(SLOTQ_EINVAL, slotq_caller_wait(q, MS(1), -1, NULL, &t, NULL));
  assert_status(SLOTQ_EINVAL, slotq_caller_wait(q, MS(1), 0, NULL, NULL, NULL));
  slotq_stats st;
  assert_ok(slotq_queue_stats(q, &st));
  assert_int_equal(st.states[SLOTQ_WAITER], 1);
  assert_status(SLOTQ_ETIMEDOUT, slotq_caller_wait(q, MS(1), 0, NULL, &t, NULL));
  assert_ok(slotq_queue_stats(q, &st));
  assert_int_equal(st.states[SLOTQ_WAITER], 0);
  slotq_queue_release(q);
  slotq_mgr_destroy(m);
}

/* ---- policies ------------------------------------------------------------ */

static int decide(slotq_queue_t *q, int kind) {
  slotq_policy p = {kind, NULL, NULL};
  int needed = -1;
  assert_ok(slotq_queue_evaluate_policy(q, &p, &needed, NULL));
  return needed;
}

static void idle_aware_policy(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *idle[2];
  /* No waiters: no. */
  assert_int_equal(decide(q, SLOTQ_POLICY_IDLE_AWARE), 0);
  /* Two waiters, no idle, no starter: yes. */
  assert_ok(slotq_queue_enter_state(q, SLOTQ_WAITER));
  assert_ok(slotq_queue_enter_state(q, SLOTQ_WAITER));
  assert_int_equal(decide(q, SLOTQ_POLICY_IDLE_AWARE), 1);
  /* Two idle slots absorb both waiters: no (the seed's policy says yes:
   * no executors). */
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &idle[0]));
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &idle[1]));
  assert_int_equal(decide(q, SLOTQ_POLICY_IDLE_AWARE), 0);
  assert_int_equal(decide(q, SLOTQ_POLICY_SEED), 1);
  /* One idle, two waiters: one effective waiter; a starter covers it. */
  assert_ok(slotq_eject(q, idle[1]));
  assert_int_equal(decide(q, SLOTQ_POLICY_IDLE_AWARE), 1);
  assert_ok(slotq_queue_enter_state(q, SLOTQ_STARTER));
  assert_int_equal(decide(q, SLOTQ_POLICY_IDLE_AWARE), 0);
  assert_ok(slotq_eject(q, idle[0]));
  slotq_token_release(idle[0]);
  slotq_token_release(idle[1]);
  slotq_queue_release(q);
}

typedef struct custom_seen {
  int calls;
  uint64_t waiters;
  size_t idle;
} custom_seen;

static int custom_policy(void *arg, const slotq_stats *st, size_t idle_slots) {
  custom_seen *c = (custom_seen *)arg;
  c->calls++;
  c->waiters = st->states[SLOTQ_WAITER];
  c->idle = idle_slots;
  return 1;
}

static void custom_policy_and_bad_policies(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  custom_seen seen = {0, 0, 0};
  slotq_policy p = {SLOTQ_POLICY_CUSTOM, custom_policy, &seen};
  assert_ok(slotq_queue_enter_state(q, SLOTQ_WAITER));
  int needed = 0;
  assert_ok(slotq_queue_evaluate_policy(q, &p, &needed, NULL));
  assert_int_equal(needed, 1);
  assert_int_equal(seen.calls, 1);
  assert_int_equal(seen.waiters, 1);
  assert_int_equal(seen.idle, 0);
  slotq_policy none = {SLOTQ_POLICY_CUSTOM, NULL, NULL}, odd = {42, NULL, NULL};
  assert_status(SLOTQ_EINVAL, slotq_queue_evaluate_policy(q, &none, &needed, NULL));
  assert_status(SLOTQ_EINVAL, slotq_queue_evaluate_policy(q, &odd, &needed, NULL));
  assert_ok(slotq_queue_evaluate_policy(q, NULL, &needed, NULL)); /* NULL: the seed's */
  assert_int_equal(needed, 1);
  slotq_queue_release(q);
}

/* ---- metrics ------------------------------------------------------------- */

static void metrics_text(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_queue_t *q = queue_of(m);
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *a, *b;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &a));
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &b));
  assert_ok(slotq_eject(q, a));
  assert_ok(slotq_queue_enter_state(q, SLOTQ_RUNNER));
  char *text = NULL;
  size_t len = 0;
  assert_ok(slotq_mgr_metrics(m, &text, &len));
  assert_non_null(text);
  assert_int_equal(strlen(text), len);
  slotq_key k;
  slotq_call c = the_call();
  assert_ok(slotq_call_key(&c, &k));
  char hex[41], line[160];
  assert_ok(slotq_key_hex(&k, hex));
  assert_non_null(strstr(text, "# TYPE slotq_queue_parties gauge\n"));
  assert_non_null(strstr(text, "slotq_queues 1\n"));
  snprintf(line, sizeof(line), "slotq_queue_parties{key=\"%s\",state=\"runner\"} 1\n", hex);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof(line), "slotq_queue_idle_slots{key=\"%s\"} 1\n", hex);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof(line), "slotq_slots_queued_total{key=\"%s\"} 2\n", hex);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof(line), "slotq_slots_ejected_total{key=\"%s\"} 1\n", hex);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof(line), "slotq_slots_closed_total{key=\"%s\"} 1\n", hex);
  assert_non_null(strstr(text, line));
  /* Every line is a comment or "name{labels} value". */
  for (char *l = text; *l != '\0';) {
    char *nl = strchr(l, '\n');
    assert_non_null(nl);
    assert_true(l[0] == '#' || strncmp(l, "slotq_", 6) == 0);
    l = nl + 1;
  }
  slotq_free(text);
  slotq_free(NULL);
  assert_ok(slotq_queue_exit_state(q, SLOTQ_RUNNER));
  assert_ok(slotq_eject(q, b));
  slotq_token_release(a);
  slotq_token_release(b);
  slotq_queue_release(q);
  slotq_mgr_destroy(m);
}

/* The value of the sample `name{key="<hex>"}` in the manager's metrics. */
static long metric_of(slotq_mgr_t *m, const char *name) {
  slotq_key k;
  slotq_call c = the_call();
  assert_ok(slotq_call_key(&c, &k));
  char hex[41], prefix[160];
  assert_ok(slotq_key_hex(&k, hex));
  snprintf(prefix, sizeof(prefix), "\n%s{key=\"%s\"} ", name, hex);
  char *text = NULL;
  assert_ok(slotq_mgr_metrics(m, &text, NULL));
  const char *at = strstr(text, prefix);
  assert_non_null(at);
  long v = strtol(at + strlen(prefix), NULL, 10);
  slotq_free(text);
  return v;
}

/* An acquisition counts when it happens, once: not when the dequeuer that
 * lent the slot lets go of it later (nor again then). */
static void metrics_count_an_acquisition_when_it_happens(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_queue_t *q = queue_of(m);
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *offer, *lent, *queued;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &offer));
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &lent));
  assert_int_equal(metric_of(m, "slotq_slots_acquired_total"), 0);
  assert_ok(slotq_token_acquire(lent));
  assert_int_equal(metric_of(m, "slotq_slots_acquired_total"), 1); /* d still holds it */
  slotq_dequeuer_free(d);
  assert_int_equal(metric_of(m, "slotq_slots_acquired_total"), 1);
  /* A slot acquired straight off the stack counts too. */
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &queued));
  assert_ok(slotq_token_acquire(queued));
  assert_int_equal(metric_of(m, "slotq_slots_acquired_total"), 2);
  /* A lost race counts nothing. */
  assert_status(SLOTQ_EGONE, slotq_token_acquire(lent));
  assert_int_equal(metric_of(m, "slotq_slots_acquired_total"), 2);
  assert_ok(slotq_token_close(lent, NULL));
  assert_ok(slotq_token_close(queued, NULL));
  assert_int_equal(metric_of(m, "slotq_slots_closed_total"), 2);
  slotq_token_release(lent);
  slotq_token_release(offer);
  slotq_token_release(queued);
  slotq_queue_release(q);
  slotq_mgr_destroy(m);
}

/* slotq_mgr_metrics runs no slot callbacks: it holds no queue handle of its
 * own, so a queue deleted and released meanwhile never shuts down (and
 * closes its idle slots) on the metrics thread. */
typedef struct metrics_race {
  slotq_mgr_t *m;
  pthread_t renderer;
  atomic_int stop, closes, closes_on_renderer;
} metrics_race;
static metrics_race g_mr;

static int note_close(void *slot) {
  (void)slot;
  atomic_fetch_add(&g_mr.closes, 1);
  if (pthread_equal(pthread_self(), g_mr.renderer)) atomic_fetch_add(&g_mr.closes_on_renderer, 1);
  return 0;
}

static void *churn_deleted_queues(void *arg) {
  (void)arg;
  static const slotq_slot_ops ops = {NULL, note_close, NULL, NULL, NULL};
  for (uint32_t i = 0; !atomic_load(&g_mr.stop); i++) {
    slotq_key k;
    memset(&k, 0, sizeof(k));
    uint32_t id = 1000000 + i % 64;
    memcpy(k.bytes, &id, sizeof(id));
    slotq_queue_t *q;
    if (slotq_mgr_get_by_key(g_mr.m, &k, &q, NULL) != SLOTQ_OK) break;
    slotq_queue_exit_state(q, SLOTQ_WAITER);
    slotq_token_t *t;
    if (slotq_queue_slot(q, NULL, &ops, &t) == SLOTQ_OK) slotq_token_release(t);
    slotq_mgr_delete(g_mr.m, q);
    slotq_queue_release(q); /* the last handle: its idle slot closes here */
  }
  return NULL;
}

static void metrics_run_no_slot_callbacks(void **state) {
  (void)state;
  memset(&g_mr, 0, sizeof(g_mr));
  assert_ok(slotq_mgr_create(&g_mr.m));
  g_mr.renderer = pthread_self();
  for (uint32_t i = 0; i < 2000; i++) { /* a long render */
    slotq_key k;
    memset(&k, 0xee, sizeof(k));
    memcpy(k.bytes, &i, sizeof(i));
    slotq_queue_t *q;
    assert_ok(slotq_mgr_get_by_key(g_mr.m, &k, &q, NULL));
    assert_ok(slotq_queue_exit_state(q, SLOTQ_WAITER));
    slotq_queue_release(q);
  }
  pthread_t th;
  pthread_create(&th, NULL, churn_deleted_queues, NULL);
  int64_t end = slotq_now_ns() + MS(1000);
  while (slotq_now_ns() < end) {
    char *text;
    assert_ok(slotq_mgr_metrics(g_mr.m, &text, NULL));
    slotq_free(text);
  }
  atomic_store(&g_mr.stop, 1);
  pthread_join(th, NULL);
  print_message("%d slots closed, %d of them on the metrics thread\n", atomic_load(&g_mr.closes),
                atomic_load(&g_mr.closes_on_renderer));
  assert_true(atomic_load(&g_mr.closes) > 0);
  assert_int_equal(atomic_load(&g_mr.closes_on_renderer), 0);
  slotq_mgr_destroy(g_mr.m);
}

static void host_loops_refuse_bad_arguments(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_token_t *t;
  slotq_call c = the_call();
  int action;
  char *text;
  assert_status(SLOTQ_EINVAL, slotq_container_offer(NULL, NULL, &test_ops, MS(1), NULL, &t));
  assert_status(SLOTQ_EINVAL, slotq_container_offer(q, NULL, NULL, MS(1), NULL, &t));
  assert_status(SLOTQ_EINVAL, slotq_container_offer(q, NULL, &test_ops, 0, NULL, &t));
  assert_status(SLOTQ_EINVAL, slotq_container_offer(q, NULL, &test_ops, -5, NULL, &t));
  assert_status(SLOTQ_EINVAL, slotq_container_offer(q, NULL, &test_ops, MS(1), NULL, NULL));
  assert_status(SLOTQ_EINVAL, slotq_caller_acquire(NULL, &c, 0, 0, NULL, &t, NULL));
  assert_status(SLOTQ_EINVAL, slotq_caller_acquire(m, NULL, 0, 0, NULL, &t, NULL));
  assert_status(SLOTQ_EINVAL, slotq_caller_acquire(m, &c, -2, 0, NULL, &t, NULL));
  assert_status(SLOTQ_EINVAL, slotq_caller_acquire(m, &c, 0, -1, NULL, &t, NULL));
  assert_status(SLOTQ_EINVAL, slotq_caller_acquire(m, &c, 0, 0, NULL, NULL, NULL));
  assert_status(SLOTQ_EINVAL, slotq_launcher_step(m, NULL, NULL, MS(1), NULL, &action, NULL));
  assert_status(SLOTQ_EINVAL, slotq_launcher_step(m, q, NULL, 0, NULL, &action, NULL));
  assert_status(SLOTQ_EINVAL, slotq_launcher_step(m, q, NULL, MS(1), NULL, NULL, NULL));
  assert_status(SLOTQ_EINVAL, slotq_mgr_metrics(NULL, &text, NULL));
  assert_status(SLOTQ_EINVAL, slotq_mgr_metrics(m, NULL, NULL));
  assert_status(SLOTQ_EINVAL, slotq_queue_evaluate_policy(NULL, NULL, &action, NULL));
  assert_status(SLOTQ_EINVAL, slotq_queue_evaluate_policy(q, NULL, NULL, NULL));
  slotq_mgr_destroy(m);
  slotq_queue_release(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(offer_times_out_idle_and_ejects),
      cmocka_unit_test(offer_cancelled_ejects),
      cmocka_unit_test(caller_gets_a_container_and_leaves_waiter),
      cmocka_unit_test(caller_times_out_and_pings_meanwhile),
      cmocka_unit_test(caller_reports_a_slots_own_error),
      cmocka_unit_test(caller_wait_after_a_get_that_made_the_queue),
      cmocka_unit_test(caller_cancelled_and_overloaded),
      cmocka_unit_test(launcher_starts_on_signal_and_enters_starter),
      cmocka_unit_test(launcher_deletes_an_idle_queue_after_inactivity),
      cmocka_unit_test(launcher_keeps_serving_a_busy_queue_the_manager_let_go),
      cmocka_unit_test(launcher_refuses_a_bad_policy_before_it_waits),
      cmocka_unit_test(caller_wait_with_bad_arguments_changes_nothing),
      cmocka_unit_test(idle_aware_policy),
      cmocka_unit_test(custom_policy_and_bad_policies),
      cmocka_unit_test(metrics_text),
      cmocka_unit_test(metrics_count_an_acquisition_when_it_happens),
      cmocka_unit_test(metrics_run_no_slot_callbacks),
      cmocka_unit_test(host_loops_refuse_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
