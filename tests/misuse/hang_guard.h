/*
 * A hang guard for the regression tests of deadlocks fixed in the library:
 * the call that used to hang runs on its own thread, so that a regression
 * fails the test instead of hanging it. No result depends on timing.
 */
#ifndef SLOTQ_TESTS_MISUSE_HANG_GUARD_H
#define SLOTQ_TESTS_MISUSE_HANG_GUARD_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any include: pthread_timedjoin_np is a GNU extension"
#endif

#include <pthread.h>
#include <time.h>

/* Joins `th`, giving up after `seconds`: 0 once joined, ETIMEDOUT if the
 * thread is still running then (it is left behind), or another error. */
static inline int join_within(pthread_t th, int seconds) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += seconds;
  return pthread_timedjoin_np(th, NULL, &until);
}

#endif /* SLOTQ_TESTS_MISUSE_HANG_GUARD_H */
