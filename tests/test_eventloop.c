/* Event-driven hosts: thousands of waiting callers served by two worker
 * threads, through armed dequeuers (callbacks) and through eventfds in epoll. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "testutil.h"

enum { CALLERS = 3000, WORKERS = 2, CONTAINERS = 8 };

typedef struct host {
  slotq_queue_t *q;
  slotq_dequeuer_t *deq[CALLERS];
  int ready_pipe[2]; /* caller indexes whose dequeuer notified */
  atomic_int served;
  atomic_int threads_seen_max;
  test_slot slot[CONTAINERS];
} host;

typedef struct note {
  host *h;
  int index;
} note;
static note notes[CALLERS];

/* Runs on whichever thread queued the slot: just tell a worker. */
static void on_ready(void *arg) {
  note *n = (note *)arg;
  ssize_t w = write(n->h->ready_pipe[1], &n->index, sizeof(n->index));
  assert_int_equal(w, (ssize_t)sizeof(n->index));
}

static int thread_count(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[128];
  int n = -1;
  while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
    if (sscanf(line, "Threads: %d", &n) == 1) break;
  }
  if (f != NULL) fclose(f);
  return n;
}

static void *worker(void *p) {
  host *h = (host *)p;
  int index;
  while (read(h->ready_pipe[0], &index, sizeof(index)) == (ssize_t)sizeof(index)) {
    if (index < 0) break; /* shutdown */
    slotq_token_t *t;
    assert_ok(slotq_dequeuer_next(h->deq[index], 0, NULL, &t));
    if (slotq_token_acquire(t) == SLOTQ_OK) {
      assert_ok(slotq_token_exec(t, NULL, NULL, NULL));
      assert_ok(slotq_token_close(t, NULL));
      atomic_fetch_add(&h->served, 1);
      slotq_dequeuer_free(h->deq[index]);
      h->deq[index] = NULL;
    } else {
      assert_ok(slotq_dequeuer_arm(h->deq[index])); /* lost it: wait again */
    }
    slotq_token_release(t);
    int n = thread_count();
    if (n > atomic_load(&h->threads_seen_max)) atomic_store(&h->threads_seen_max, n);
  }
  return NULL;
}

/* Containers: each offers its slot again as soon as it is given back. */
static int requeue_close(void *s);
static const slotq_slot_ops requeue_ops = {NULL, requeue_close, NULL, NULL, NULL};
static host *the_host;
static int requeue_close(void *s) {
  host *h = the_host;
  if (atomic_load(&h->served) < CALLERS - CONTAINERS) {
    slotq_token_t *t;
    assert_ok(slotq_queue_slot(h->q, s, &requeue_ops, &t));
    slotq_token_release(t);
  }
  return 0;
}

static void two_workers_serve_thousands_of_armed_callers(void **state) {
  (void)state;
  host *h = calloc(1, sizeof(*h));
  assert_non_null(h);
  the_host = h;
  h->q = test_queue();
  assert_int_equal(pipe(h->ready_pipe), 0);
  int before = thread_count();
  for (int i = 0; i < CALLERS; i++) {
    notes[i] = (note){h, i};
    assert_ok(slotq_start_dequeuer(h->q, NULL, &h->deq[i]));
    assert_ok(slotq_dequeuer_set_notify(h->deq[i], on_ready, &notes[i]));
    assert_ok(slotq_dequeuer_arm(h->deq[i]));
  }
  assert_int_equal(thread_count(), before); /* waiting costs no thread */
  pthread_t w[WORKERS];
  for (int i = 0; i < WORKERS; i++) pthread_create(&w[i], NULL, worker, h);
  /* The containers arrive; each re-offers from its close callback. */
  for (int i = 0; i < CONTAINERS; i++) {
    slotq_token_t *t;
    assert_ok(slotq_queue_slot(h->q, &h->slot[i], &requeue_ops, &t));
    slotq_token_release(t);
  }
  while (atomic_load(&h->served) < CALLERS) usleep(1000);
  int stop = -1;
  for (int i = 0; i < WORKERS; i++)
    assert_int_equal(write(h->ready_pipe[1], &stop, sizeof(stop)), 4);
  for (int i = 0; i < WORKERS; i++) pthread_join(w[i], NULL);
  print_message("%d callers served by %d workers; at most %d threads (%d before)\n", CALLERS,
                WORKERS, atomic_load(&h->threads_seen_max), before);
  /* The point: thousands of waiting callers cost no thread. The slack of 2
   * is for runtime threads a sanitizer may start on its own. */
  assert_true(atomic_load(&h->threads_seen_max) <= before + WORKERS + 2);
  for (int i = 0; i < CALLERS; i++) assert_null(h->deq[i]);
  close(h->ready_pipe[0]);
  close(h->ready_pipe[1]);
  slotq_queue_release(h->q); /* discards the containers' last offers, if any */
  free(h);
}

/* The same through eventfds in an epoll set. */
enum { FD_CALLERS = 200 };

static void epoll_host_with_dequeuer_fds(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_dequeuer_t *deq[FD_CALLERS];
  int ep = epoll_create1(EPOLL_CLOEXEC);
  assert_true(ep >= 0);
  for (int i = 0; i < FD_CALLERS; i++) {
    int fd;
    assert_ok(slotq_start_dequeuer(q, NULL, &deq[i]));
    assert_ok(slotq_dequeuer_fd(deq[i], &fd));
    struct epoll_event ev = {.events = EPOLLIN, .data = {.u32 = (uint32_t)i}};
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    assert_ok(slotq_dequeuer_arm(deq[i]));
  }
  test_slot s;
  test_slot_init(&s);
  int served = 0;
  while (served < FD_CALLERS) {
    slotq_token_t *offer;
    assert_ok(slotq_queue_slot(q, &s, &test_ops, &offer));
    struct epoll_event ev;
    assert_int_equal(epoll_wait(ep, &ev, 1, 5000), 1);
    int i = (int)ev.data.u32;
    int fd;
    uint64_t v;
    assert_ok(slotq_dequeuer_fd(deq[i], &fd));
    assert_int_equal(read(fd, &v, sizeof(v)), 8);
    slotq_token_t *t;
    assert_ok(slotq_dequeuer_next(deq[i], 0, NULL, &t));
    assert_ptr_equal(t, offer);
    assert_ok(slotq_token_acquire(t));
    slotq_token_release(t);
    slotq_token_release(offer);
    slotq_dequeuer_free(deq[i]); /* closes its eventfd, which leaves the epoll set */
    served++;
  }
  close(ep);
  slotq_queue_release(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(two_workers_serve_thousands_of_armed_callers),
      cmocka_unit_test(epoll_host_with_dequeuer_fds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
