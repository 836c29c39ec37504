/* The launch signaller: non-blocking with room for one, a blocking wait,
 * and event-driven listeners. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "testutil.h"

static void signal_has_room_for_one(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  int sent = -1;
  assert_ok(slotq_queue_signal(q, &sent));
  assert_int_equal(sent, 1);
  assert_ok(slotq_queue_signal(q, &sent));
  assert_int_equal(sent, 0);
  assert_ok(slotq_queue_wait_signal(q, 0, NULL));
  assert_status(SLOTQ_ETIMEDOUT, slotq_queue_wait_signal(q, 0, NULL));
  assert_ok(slotq_queue_signal(q, &sent));
  assert_int_equal(sent, 1);
  assert_ok(slotq_queue_wait_signal(q, 0, NULL));
  slotq_queue_release(q);
}

static void *signal_later(void *arg) {
  usleep(20 * 1000);
  slotq_queue_signal((slotq_queue_t *)arg, NULL);
  return NULL;
}

static void blocked_wait_gets_a_later_signal(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  pthread_t th;
  pthread_create(&th, NULL, signal_later, q);
  assert_ok(slotq_queue_wait_signal(q, SLOTQ_FOREVER, NULL));
  pthread_join(th, NULL);
  int64_t t0 = slotq_now_ns();
  assert_status(SLOTQ_ETIMEDOUT, slotq_queue_wait_signal(q, MS(15), NULL));
  assert_true(slotq_now_ns() - t0 >= MS(15)); /* never early */
  slotq_queue_release(q);
}

static void *cancel_later(void *arg) {
  usleep(20 * 1000);
  slotq_cancel_cancel((slotq_cancel_t *)arg);
  return NULL;
}

static void cancel_wakes_a_signal_wait(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  pthread_t th;
  pthread_create(&th, NULL, cancel_later, c);
  assert_status(SLOTQ_ECANCELED, slotq_queue_wait_signal(q, SLOTQ_FOREVER, c));
  pthread_join(th, NULL);
  slotq_cancel_release(c);
  slotq_queue_release(q);
}

typedef struct listener {
  slotq_queue_t *q;
  atomic_int calls;
  int consume;
  int remove_self;
} listener;

static void on_signal(void *arg) {
  listener *l = (listener *)arg;
  atomic_fetch_add(&l->calls, 1);
  if (l->consume) assert_ok(slotq_queue_wait_signal(l->q, 0, NULL));
  if (l->remove_self) assert_ok(slotq_queue_set_signal_notify(l->q, NULL, NULL));
}

static void listener_is_told_of_each_new_pending_signal(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  listener l = {q, 0, 0, 0};
  assert_ok(slotq_queue_set_signal_notify(q, on_signal, &l));
  int fd = -1;
  assert_ok(slotq_queue_signal_fd(q, &fd));
  assert_ok(slotq_queue_signal(q, NULL));
  assert_ok(slotq_queue_signal(q, NULL)); /* already pending: no news */
  assert_int_equal(atomic_load(&l.calls), 1);
  struct pollfd p = {fd, POLLIN, 0};
  assert_int_equal(poll(&p, 1, 0), 1);
  uint64_t v;
  assert_int_equal(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
  assert_ok(slotq_queue_wait_signal(q, 0, NULL));
  l.consume = 1;
  assert_ok(slotq_queue_signal(q, NULL));
  assert_ok(slotq_queue_signal(q, NULL)); /* consumed in the callback: news again */
  assert_int_equal(atomic_load(&l.calls), 3);
  l.remove_self = 1;
  assert_ok(slotq_queue_signal(q, NULL));
  assert_int_equal(atomic_load(&l.calls), 4);
  assert_ok(slotq_queue_signal(q, NULL));
  assert_int_equal(atomic_load(&l.calls), 4);              /* removed */
  assert_ok(slotq_queue_set_signal_notify(q, NULL, NULL)); /* removing twice is fine */
  slotq_queue_release(q);
}

static void listener_dropped_with_its_queue(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  listener l = {q, 0, 0, 0};
  assert_ok(slotq_queue_set_signal_notify(q, on_signal, &l));
  int fd;
  assert_ok(slotq_queue_signal_fd(q, &fd));
  assert_true(fcntl(fd, F_GETFD) != -1);
  slotq_queue_release(q); /* the listener goes with the queue, and its eventfd */
  assert_int_equal(fcntl(fd, F_GETFD), -1);
  assert_int_equal(errno, EBADF);
  assert_int_equal(atomic_load(&l.calls), 0);
}

/* Regression: a callback removing its own listener must not wait for
 * itself, even after another thread ran the same callback meanwhile (the
 * library once tracked only the latest running thread and hung here). */
typedef struct reentry {
  slotq_queue_t *q;
  atomic_int calls, a_inside, b_done;
} reentry;
static reentry g_re;

static void remove_later(void *arg) {
  (void)arg;
  int n = atomic_fetch_add(&g_re.calls, 1);
  (void)slotq_queue_wait_signal(g_re.q, 0, NULL);
  if (n == 0) {
    atomic_store(&g_re.a_inside, 1);
    while (!atomic_load(&g_re.b_done)) usleep(1000);
    assert_ok(slotq_queue_set_signal_notify(g_re.q, NULL, NULL));
  }
}

static void *signal_once(void *arg) {
  (void)arg;
  slotq_queue_signal(g_re.q, NULL);
  return NULL;
}

static void *signal_once_on(void *arg) {
  slotq_queue_signal((slotq_queue_t *)arg, NULL);
  return NULL;
}

static void listener_removed_from_its_callback_after_another_thread_ran_it(void **state) {
  (void)state;
  memset(&g_re, 0, sizeof(g_re));
  g_re.q = test_queue();
  assert_ok(slotq_queue_set_signal_notify(g_re.q, remove_later, NULL));
  pthread_t a;
  pthread_create(&a, NULL, signal_once, NULL);
  while (!atomic_load(&g_re.a_inside)) usleep(1000);
  assert_ok(slotq_queue_signal(g_re.q, NULL)); /* runs the callback here, to completion */
  atomic_store(&g_re.b_done, 1);
  pthread_join(a, NULL); /* hung before the fix */
  assert_int_equal(atomic_load(&g_re.calls), 2);
  slotq_queue_release(g_re.q);
}

/* Listeners replaced, removed and notified from several threads at once:
 * whoever takes a listener out of the table owns it (ASan/TSan watch). */
typedef struct churn {
  slotq_queue_t *q;
  atomic_int stop;
  atomic_long calls;
} churn;
static churn g_churn;

static void churn_cb(void *arg) {
  (void)arg;
  atomic_fetch_add(&g_churn.calls, 1);
  (void)slotq_queue_wait_signal(g_churn.q, 0, NULL);
}

static void *churn_setter(void *arg) {
  long n = (long)(intptr_t)arg;
  while (!atomic_load(&g_churn.stop)) {
    assert_ok(slotq_queue_set_signal_notify(g_churn.q, (n++ % 3) ? churn_cb : NULL, NULL));
  }
  return NULL;
}

static void *churn_signaller(void *arg) {
  (void)arg;
  while (!atomic_load(&g_churn.stop)) {
    (void)slotq_queue_wait_signal(g_churn.q, 0, NULL); /* so that each signal is news */
    assert_ok(slotq_queue_signal(g_churn.q, NULL));
  }
  return NULL;
}

static void listeners_replaced_and_removed_concurrently(void **state) {
  (void)state;
  memset(&g_churn, 0, sizeof(g_churn));
  g_churn.q = test_queue();
  pthread_t th[4];
  pthread_create(&th[0], NULL, churn_setter, (void *)(intptr_t)0);
  pthread_create(&th[1], NULL, churn_setter, (void *)(intptr_t)1);
  pthread_create(&th[2], NULL, churn_signaller, NULL);
  pthread_create(&th[3], NULL, churn_signaller, NULL);
  usleep(200 * 1000);
  atomic_store(&g_churn.stop, 1);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  print_message("%ld listener callbacks ran\n", atomic_load(&g_churn.calls));
  /* Once removed, a listener is never called again. */
  assert_ok(slotq_queue_set_signal_notify(g_churn.q, NULL, NULL));
  long before = atomic_load(&g_churn.calls);
  (void)slotq_queue_wait_signal(g_churn.q, 0, NULL);
  assert_ok(slotq_queue_signal(g_churn.q, NULL));
  assert_int_equal(atomic_load(&g_churn.calls), before);
  slotq_queue_release(g_churn.q);
}

/* "When this returns, the previous callback is not running" holds for
 * every caller, not only for the one that took the listener out of the
 * table: a host frees the callback's argument after its own removal. */
typedef struct slow_cb {
  slotq_queue_t *q;
  atomic_int calls, inside;
} slow_cb;
static slow_cb g_slow;

static void slow_then_remove_self(void *arg) {
  (void)arg;
  int n = atomic_fetch_add(&g_slow.calls, 1);
  (void)slotq_queue_wait_signal(g_slow.q, 0, NULL); /* so that the next signal is news */
  if (n == 0) {                                     /* the first run is slow */
    atomic_store(&g_slow.inside, 1);
    usleep(150 * 1000);
    atomic_store(&g_slow.inside, 0);
  } else { /* a later one, on another thread, removes the listener */
    assert_ok(slotq_queue_set_signal_notify(g_slow.q, NULL, NULL));
  }
}

static void *remove_listener(void *arg) {
  assert_ok(slotq_queue_set_signal_notify((slotq_queue_t *)arg, NULL, NULL));
  return NULL;
}

static void start_slow_callback(pthread_t *th) {
  memset(&g_slow, 0, sizeof(g_slow));
  g_slow.q = test_queue();
  assert_ok(slotq_queue_set_signal_notify(g_slow.q, slow_then_remove_self, NULL));
  pthread_create(th, NULL, signal_once_on, g_slow.q);
  while (!atomic_load(&g_slow.inside)) usleep(1000);
}

static void removal_waits_for_a_callback_another_remover_took_out(void **state) {
  (void)state;
  pthread_t sig, rem;
  start_slow_callback(&sig);
  pthread_create(&rem, NULL, remove_listener, g_slow.q); /* takes it out, waits */
  usleep(30 * 1000);
  assert_ok(slotq_queue_set_signal_notify(g_slow.q, NULL, NULL));
  assert_int_equal(atomic_load(&g_slow.inside), 0); /* returned at once before the fix */
  pthread_join(rem, NULL);
  pthread_join(sig, NULL);
  slotq_queue_release(g_slow.q);
}

static void removal_waits_for_a_callback_whose_listener_removed_itself(void **state) {
  (void)state;
  pthread_t sig, sig2;
  start_slow_callback(&sig);
  pthread_create(&sig2, NULL, signal_once_on, g_slow.q); /* its callback removes the listener */
  while (atomic_load(&g_slow.calls) < 2) usleep(1000);
  usleep(30 * 1000);
  assert_ok(slotq_queue_set_signal_notify(g_slow.q, NULL, NULL));
  assert_int_equal(atomic_load(&g_slow.inside), 0); /* returned at once before the fix */
  pthread_join(sig2, NULL);
  pthread_join(sig, NULL);
  assert_int_equal(atomic_load(&g_slow.calls), 2);
  slotq_queue_release(g_slow.q);
}

/* Two callbacks of one queue, on two threads, each replacing the queue's
 * listener while another thread's replacement retired the first: neither
 * may wait for the other's (each would wait for ever). */
typedef struct crossing {
  slotq_queue_t *q;
  atomic_int inside, go, replaced;
} crossing;
static crossing g_x;

static void cross_noop(void *arg) {
  (void)arg;
  (void)slotq_queue_wait_signal(g_x.q, 0, NULL);
}

static void cross_cb(void *arg) {
  (void)arg;
  (void)slotq_queue_wait_signal(g_x.q, 0, NULL); /* so that the next signal is news */
  atomic_fetch_add(&g_x.inside, 1);
  while (!atomic_load(&g_x.go)) usleep(1000);
  if (slotq_queue_set_signal_notify(g_x.q, cross_noop, NULL) == SLOTQ_OK) {
    atomic_fetch_add(&g_x.replaced, 1);
  }
}

static void *set_cross_cb(void *arg) {
  (void)arg;
  assert_ok(slotq_queue_set_signal_notify(g_x.q, cross_cb, NULL));
  return NULL;
}

static void callbacks_replacing_each_other_do_not_wait_for_each_other(void **state) {
  (void)state;
  memset(&g_x, 0, sizeof(g_x));
  g_x.q = test_queue();
  assert_ok(slotq_queue_set_signal_notify(g_x.q, cross_cb, NULL));
  pthread_t s1, s2, r;
  pthread_create(&s1, NULL, signal_once_on, g_x.q);
  while (atomic_load(&g_x.inside) < 1) usleep(1000);
  pthread_create(&r, NULL, set_cross_cb, NULL); /* retires the first, waits for it */
  usleep(30 * 1000);
  pthread_create(&s2, NULL, signal_once_on, g_x.q); /* runs the second */
  while (atomic_load(&g_x.inside) < 2) usleep(1000);
  atomic_store(&g_x.go, 1);
  pthread_join(s1, NULL); /* hung when every caller waited for all retired ones */
  pthread_join(s2, NULL);
  pthread_join(r, NULL);
  assert_int_equal(atomic_load(&g_x.replaced), 2);
  assert_ok(slotq_queue_set_signal_notify(g_x.q, NULL, NULL));
  slotq_queue_release(g_x.q);
}

/* A signal already pending when a listener comes is told to it: only news
 * would be otherwise, and none comes while one is pending. */
static void listener_set_while_a_signal_is_pending_is_told(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  listener l = {q, 0, 1, 0};
  assert_ok(slotq_queue_signal(q, NULL));
  assert_ok(slotq_queue_set_signal_notify(q, on_signal, &l));
  assert_int_equal(atomic_load(&l.calls), 1); /* here, before the call returned */
  assert_status(SLOTQ_ETIMEDOUT, slotq_queue_wait_signal(q, 0, NULL)); /* consumed */
  assert_ok(slotq_queue_set_signal_notify(q, on_signal, &l));          /* nothing pending */
  assert_int_equal(atomic_load(&l.calls), 1);
  assert_ok(slotq_queue_signal(q, NULL));
  assert_int_equal(atomic_load(&l.calls), 2);
  assert_ok(slotq_queue_set_signal_notify(q, NULL, NULL));
  slotq_queue_release(q);
}

static void descriptor_made_while_a_signal_is_pending_is_readable(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  assert_ok(slotq_queue_signal(q, NULL));
  int fd;
  assert_ok(slotq_queue_signal_fd(q, &fd));
  struct pollfd p = {fd, POLLIN, 0};
  assert_int_equal(poll(&p, 1, 0), 1);
  /* Read the descriptor, then consume: a signal in between is not lost. */
  uint64_t v;
  assert_int_equal(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
  assert_ok(slotq_queue_wait_signal(q, 0, NULL));
  assert_int_equal(poll(&p, 1, 0), 0);
  assert_ok(slotq_queue_signal(q, NULL));
  assert_int_equal(poll(&p, 1, 0), 1);
  slotq_queue_release(q);
}

/* Out of descriptors: SLOTQ_ENOMEM, and a later call, with descriptors
 * again, works as a first one. (That the failed call leaves no empty
 * listener in the table, as it once did, the API cannot see: this test
 * passes either way on that point.) */
static void descriptor_refused_when_the_process_has_none_left(void **state) {
  (void)state;
  struct rlimit old;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
  int lowest = dup(0); /* the descriptor the next eventfd would get */
  assert_true(lowest >= 0);
  close(lowest);
  struct rlimit low = {(rlim_t)lowest, old.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &low) != 0) {
    print_message("skipped: cannot lower RLIMIT_NOFILE here (%s)\n", strerror(errno));
    skip();
  }
  slotq_queue_t *q = test_queue();
  int fd = -1;
  int rc = slotq_queue_signal_fd(q, &fd);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
  assert_status(SLOTQ_ENOMEM, rc);
  assert_int_equal(fd, -1);
  assert_ok(slotq_queue_signal(q, NULL));
  assert_ok(slotq_queue_signal_fd(q, &fd));
  struct pollfd p = {fd, POLLIN, 0};
  assert_int_equal(poll(&p, 1, 0), 1);
  slotq_queue_release(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(signal_has_room_for_one),
      cmocka_unit_test(blocked_wait_gets_a_later_signal),
      cmocka_unit_test(cancel_wakes_a_signal_wait),
      cmocka_unit_test(listener_is_told_of_each_new_pending_signal),
      cmocka_unit_test(listener_dropped_with_its_queue),
      cmocka_unit_test(listener_removed_from_its_callback_after_another_thread_ran_it),
      cmocka_unit_test(listeners_replaced_and_removed_concurrently),
      cmocka_unit_test(removal_waits_for_a_callback_another_remover_took_out),
      cmocka_unit_test(removal_waits_for_a_callback_whose_listener_removed_itself),
      cmocka_unit_test(callbacks_replacing_each_other_do_not_wait_for_each_other),
      cmocka_unit_test(listener_set_while_a_signal_is_pending_is_told),
      cmocka_unit_test(descriptor_made_while_a_signal_is_pending_is_readable),
      cmocka_unit_test(descriptor_refused_when_the_process_has_none_left),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
