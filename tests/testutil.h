/* Helpers shared by the cmocka tests: a slot that records what the library
 * did to it, and a few shorthands. */
#ifndef SLOTQ_TESTS_TESTUTIL_H
#define SLOTQ_TESTS_TESTUTIL_H

// cmocka needs these headers before its own.
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <slotq.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* A slot whose callbacks count their calls. */
typedef struct test_slot {
  atomic_int closes;
  atomic_int execs;
  atomic_int releases;
  atomic_int triggers;
  atomic_int trigger_state;
  int exec_rc;
  int close_rc;
  int error_rc;
} test_slot;

static int test_slot_exec(void *s, slotq_cancel_t *cancel, void *arg) {
  (void)cancel;
  (void)arg;
  test_slot *t = (test_slot *)s;
  atomic_fetch_add(&t->execs, 1);
  return t->exec_rc;
}
static int test_slot_close(void *s) {
  test_slot *t = (test_slot *)s;
  atomic_fetch_add(&t->closes, 1);
  return t->close_rc;
}
static int test_slot_error(void *s) { return ((test_slot *)s)->error_rc; }
static void test_slot_release(void *s) { atomic_fetch_add(&((test_slot *)s)->releases, 1); }
static void test_slot_trigger(void *s, int state) {
  test_slot *t = (test_slot *)s;
  atomic_store(&t->trigger_state, state);
  atomic_fetch_add(&t->triggers, 1);
}

static const slotq_slot_ops test_ops = {test_slot_exec, test_slot_close, test_slot_error,
                                        test_slot_release, test_slot_trigger};

static inline void test_slot_init(test_slot *t) {
  memset(t, 0, sizeof(*t));
  atomic_store(&t->trigger_state, -1);
}

/* Asserts a library call returns a status, printing both names if not. */
#define assert_status(expected, call)                                        \
  do {                                                                       \
    int rc_ = (call);                                                        \
    if (rc_ != (expected)) {                                                 \
      fail_msg("%s returned %s, expected %s", #call, slotq_status_name(rc_), \
               slotq_status_name(expected));                                 \
    }                                                                        \
  } while (0)

#define assert_ok(call) assert_status(SLOTQ_OK, call)

static inline slotq_queue_t *test_queue(void) {
  slotq_queue_t *q = NULL;
  assert_ok(slotq_queue_create("test", 4, &q));
  return q;
}

static inline uint64_t test_token_id(const slotq_token_t *t) {
  uint64_t id = UINT64_MAX;
  assert_ok(slotq_token_id(t, &id));
  return id;
}

static inline int test_token_state(const slotq_token_t *t) {
  int st = -1;
  assert_ok(slotq_token_state_get(t, &st, NULL));
  return st;
}

#define MS(x) ((int64_t)(x)*1000000)

#endif /* SLOTQ_TESTS_TESTUTIL_H */
