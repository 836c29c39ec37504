/* fork(): a child of a process that used the library, with other threads in
 * it at the moment of the fork, can use the library on objects of its own.
 * Each child reports its result through a pipe; an alarm ends a child that
 * hangs, which then reports nothing. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

enum { kChildOk = 0, kChildFailed = 1 };

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#endif
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* ThreadSanitizer ends a child of a multi-threaded fork that starts a thread
 * (its die_after_fork), and the library's timer thread is one. */
static void skip_under_tsan(void) {
#ifdef UNDER_TSAN
  fprintf(stderr,
          "skipped: ThreadSanitizer does not support threads started after a "
          "multi-threaded fork; the other builds run this test\n");
  skip();
#endif
}

/* GCC 12's AddressSanitizer runtime does not hold its allocator's locks
 * across fork(): a child forked while another thread allocates can hang
 * inside the runtime itself (seen: the child's new thread waits forever in
 * SizeClassAllocator64::GetFromAllocator). */
static void skip_under_asan_when_threads_allocate(void) {
#ifdef UNDER_ASAN
  fprintf(stderr,
          "skipped: AddressSanitizer's allocator is not fork-safe while other threads "
          "allocate; the plain and valgrind builds run this test\n");
  skip();
#endif
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void set_flag(void *arg) { atomic_store((atomic_int *)arg, 1); }

/* Registers a callback on a deadline token `ms` from now and waits (outside
 * the library) until the library's timer thread runs it, at most `limit_ms`. */
static int deadline_callback_runs(long ms, long limit_ms) {
  atomic_int fired = 0;
  slotq_cancel_t *c;
  slotq_cancel_reg_t *reg;
  if (slotq_cancel_create_deadline(NULL, slotq_now_ns() + ms * 1000000L, &c) != SLOTQ_OK) return 0;
  if (slotq_cancel_on_cancel(c, set_flag, &fired, &reg) != SLOTQ_OK) return 0;
  for (long waited = 0; !atomic_load(&fired) && waited < limit_ms; waited++) sleep_ms(1);
  int ran = 0;
  slotq_cancel_unregister(reg, &ran);
  slotq_cancel_release(c);
  return ran && atomic_load(&fired);
}

/* What a child does with objects of its own: a queue, a slot, a dequeuer, a
 * signal listener, a deadline. Returns kChildOk, or kChildFailed plus the
 * number of the step that failed (none: the deadline's callback). */
static int child_uses_the_library(void) {
  slotq_mgr_t *mgr;
  slotq_queue_t *q;
  slotq_token_t *offer, *tok;
  slotq_dequeuer_t *d;
  test_slot slot;
  test_slot_init(&slot);
  slotq_call call = {0};
  call.app_name.ptr = "forked";
  call.app_name.len = 6;
  if (slotq_mgr_create(&mgr) != SLOTQ_OK) return kChildFailed + 1;
  if (slotq_mgr_get(mgr, &call, &q, NULL) != SLOTQ_OK) return kChildFailed + 2;
  int fd;
  if (slotq_queue_signal_fd(q, &fd) != SLOTQ_OK) return kChildFailed + 3;
  if (slotq_queue_signal(q, NULL) != SLOTQ_OK) return kChildFailed + 4;
  if (slotq_queue_slot(q, &slot, &test_ops, &offer) != SLOTQ_OK) return kChildFailed + 5;
  if (slotq_start_dequeuer(q, NULL, &d) != SLOTQ_OK) return kChildFailed + 6;
  if (slotq_dequeuer_next(d, 1000000000, NULL, &tok) != SLOTQ_OK) return kChildFailed + 7;
  if (slotq_token_acquire(tok) != SLOTQ_OK) return kChildFailed + 8;
  slotq_dequeuer_free(d);
  slotq_token_release(tok);
  slotq_token_release(offer);
  if (slotq_queue_exit_state(q, SLOTQ_WAITER) != SLOTQ_OK) return kChildFailed + 9;
  slotq_queue_release(q);
  slotq_mgr_destroy(mgr);
  return deadline_callback_runs(5, 2000) ? kChildOk : kChildFailed;
}

/* Forks; the child runs `body` under an alarm, writes the result to a pipe
 * and ends itself with SIGKILL. It does not exit, because a child of a
 * multi-threaded fork holds objects that only the parent's other threads
 * could reach (glibc's per-thread state, pointers on their stacks), and a
 * leak check at its exit (valgrind's) would report them. Returns the
 * child's result, or -1 if it died any other way (a hang ends in SIGALRM). */
static int fork_and_run(int (*body)(void)) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  fflush(NULL); /* or the child would print the parent's buffered output again */
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(fds[0]);
    alarm(10);
    unsigned char result = (unsigned char)body();
    if (write(fds[1], &result, 1) != 1) _exit(kChildFailed);
    raise(SIGKILL);
  }
  close(fds[1]);
  int status = 0;
  pid_t waited = waitpid(pid, &status, 0);
  unsigned char result;
  ssize_t got = read(fds[0], &result, 1);
  close(fds[0]);
  if (waited != pid) return -1;
  if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
    fprintf(stderr, "the child was killed by signal %d (SIGALRM: a hang)\n", WTERMSIG(status));
  }
  return got == 1 ? result : -1;
}

static void assert_child_ok(int result) { assert_int_equal(result, kChildOk); }

/* The timer thread of the parent is not copied into the child: the child's
 * deadlines must start a thread of their own. */
static void deadline_callbacks_run_in_a_forked_child(void **state) {
  (void)state;
  skip_under_tsan();
  /* The parent's timer thread is running (it lingers after its deadline). */
  assert_true(deadline_callback_runs(1, 2000));
  assert_child_ok(fork_and_run(child_uses_the_library));
  /* And the parent's timer still works. */
  assert_true(deadline_callback_runs(1, 2000));
}

/* Threads that keep taking the library's process-wide locks: the queue
 * arena's (queues made and freed), the parker pool's (threads that wait and
 * exit), the listener table's and the timer's. */
typedef struct churn {
  atomic_int stop;
} churn;

static void *churn_queues(void *arg) {
  churn *ch = (churn *)arg;
  while (!atomic_load(&ch->stop)) {
    slotq_queue_t *q;
    int fd;
    if (slotq_queue_create("churn", 5, &q) != SLOTQ_OK) continue;
    (void)slotq_queue_signal_fd(q, &fd);
    slotq_queue_release(q);
    slotq_cancel_t *c;
    if (slotq_cancel_create_deadline(NULL, slotq_now_ns() + 100000, &c) == SLOTQ_OK) {
      slotq_cancel_release(c);
    }
  }
  return NULL;
}

static void *wait_briefly(void *arg) {
  slotq_dequeuer_t *d;
  slotq_token_t *tok;
  if (slotq_start_dequeuer((slotq_queue_t *)arg, NULL, &d) != SLOTQ_OK) return NULL;
  (void)slotq_dequeuer_next(d, 10000, NULL, &tok);
  slotq_dequeuer_free(d);
  return NULL;
}

static void *churn_threads(void *arg) {
  churn *ch = (churn *)arg;
  slotq_queue_t *q;
  if (slotq_queue_create("empty", 5, &q) != SLOTQ_OK) return NULL;
  while (!atomic_load(&ch->stop)) {
    pthread_t t;
    if (pthread_create(&t, NULL, wait_briefly, q) == 0) pthread_join(t, NULL);
  }
  slotq_queue_release(q);
  return NULL;
}

static void forks_while_other_threads_hold_the_locks(void **state) {
  (void)state;
  skip_under_tsan();
  skip_under_asan_when_threads_allocate();
  if (getenv("SLOTQ_TEST_UNDER_VALGRIND") != NULL) {
    /* valgrind runs one thread at a time: the busy threads starve the
     * forking one (about 30 s a fork were seen). */
    fprintf(stderr,
            "skipped: under valgrind, busy threads starve the forking one; the plain "
            "build runs this test\n");
    skip();
  }
  churn ch;
  atomic_store(&ch.stop, 0);
  pthread_t a, b;
  assert_int_equal(pthread_create(&a, NULL, churn_queues, &ch), 0);
  assert_int_equal(pthread_create(&b, NULL, churn_threads, &ch), 0);
  for (int i = 0; i < 100; i++) assert_child_ok(fork_and_run(child_uses_the_library));
  atomic_store(&ch.stop, 1);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(deadline_callbacks_run_in_a_forked_child),
      cmocka_unit_test(forks_while_other_threads_hold_the_locks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
