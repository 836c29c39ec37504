/*
 * Regression: a callback on a child cancellation token may unregister itself
 * and drop the last reference to the child while the parent's cancellation
 * propagates to it.
 *
 * slotq.h, slotq_cancel_on_cancel(): the callback "may call any library
 * function". Until the fix, CancelToken::Fire() of the child (called from the
 * parent's PropagateFromParent node) keeps looping over the child's callback
 * list after the callback freed the child: CancelToken::RunNode() locks
 * child->mu_ in freed memory (heap-use-after-free under ASan/valgrind). In a
 * plain build the freed block is poisoned (MALLOC_PERTURB_, tcache off, set
 * by CTest), the lock never succeeds and the cancelling thread sleeps forever
 * on a futex: this test then fails after its hang guard instead of hanging.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
/* cmocka.h needs the four headers above. */
#include <cmocka.h>

#include "hang_guard.h"
#include "slotq.h"

typedef struct child_ctx {
  slotq_cancel_t *child;
  slotq_cancel_reg_t *reg;
  int runs;
  int rc_unregister;
} child_ctx;

static void release_child_from_callback(void *arg) {
  child_ctx *x = (child_ctx *)arg;
  x->runs++;
  /* One-shot cleanup: forget the registration and the child token. */
  x->rc_unregister = slotq_cancel_unregister(x->reg, NULL);
  x->reg = NULL;
  slotq_cancel_release(x->child);
  x->child = NULL;
}

static void *cancel_main(void *p) {
  slotq_cancel_cancel((slotq_cancel_t *)p);
  return NULL;
}

static void child_released_inside_its_callback_during_parent_cancel(void **state) {
  (void)state;
  enum { kRounds = 64 };
  for (int round = 0; round < kRounds; round++) {
    slotq_cancel_t *parent = NULL;
    child_ctx x;
    memset(&x, 0, sizeof x);
    assert_int_equal(slotq_cancel_create(&parent), SLOTQ_OK);
    assert_int_equal(slotq_cancel_create_child(parent, &x.child), SLOTQ_OK);
    assert_int_equal(slotq_cancel_on_cancel(x.child, release_child_from_callback, &x, &x.reg),
                     SLOTQ_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_main, parent), 0);
    /* Hang guard only: a correct library returns at once. */
    int jrc = join_within(th, 10);
    if (jrc == ETIMEDOUT) fail_msg("slotq_cancel_cancel(parent) never returned (round %d)", round);
    assert_int_equal(jrc, 0);
    assert_int_equal(x.runs, 1);
    assert_int_equal(x.rc_unregister, SLOTQ_OK);
    slotq_cancel_release(parent);
  }
}

/* The same without an explicit release in the callback: the host dropped its
 * reference right after registering (the registration keeps the token alive,
 * slotq_cancel_on_cancel()), and the callback only unregisters itself, which
 * slotq_cancel_unregister() explicitly allows from inside the callback. */
static void unregister_self(void *arg) {
  child_ctx *x = (child_ctx *)arg;
  x->runs++;
  x->rc_unregister = slotq_cancel_unregister(x->reg, NULL);
  x->reg = NULL;
}

static void child_unregistering_itself_after_host_released_it(void **state) {
  (void)state;
  for (int round = 0; round < 64; round++) {
    slotq_cancel_t *parent = NULL;
    child_ctx x;
    memset(&x, 0, sizeof x);
    assert_int_equal(slotq_cancel_create(&parent), SLOTQ_OK);
    assert_int_equal(slotq_cancel_create_child(parent, &x.child), SLOTQ_OK);
    assert_int_equal(slotq_cancel_on_cancel(x.child, unregister_self, &x, &x.reg), SLOTQ_OK);
    slotq_cancel_release(x.child); /* the registration holds the last reference */
    x.child = NULL;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_main, parent), 0);
    int jrc = join_within(th, 10);
    if (jrc == ETIMEDOUT) fail_msg("slotq_cancel_cancel(parent) never returned (round %d)", round);
    assert_int_equal(jrc, 0);
    assert_int_equal(x.runs, 1);
    assert_int_equal(x.rc_unregister, SLOTQ_OK);
    slotq_cancel_release(parent);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(child_released_inside_its_callback_during_parent_cancel),
      cmocka_unit_test(child_unregistering_itself_after_host_released_it),
  };
  return cmocka_run_group_tests_name("regress_child_cancel_release_in_callback", tests, NULL, NULL);
}
