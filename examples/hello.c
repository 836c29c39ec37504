/* The README's example: a container offers its slot, a caller takes it, runs
 * a call on it and gives it back; then the container's idle slot is ejected.
 * Build: cc hello.c $(pkg-config --cflags --libs slotq) */
#include <slotq.h>
#include <stdio.h>

static int echo_exec(void *slot, slotq_cancel_t *cancel, void *call) {
  (void)cancel;
  printf("container %s runs call %s\n", (const char *)slot, (const char *)call);
  return 0;
}
static int echo_close(void *slot) {
  printf("container %s: slot closed\n", (const char *)slot);
  return 0;
}
static const slotq_slot_ops echo_ops = {echo_exec, echo_close, NULL, NULL, NULL};

int main(void) {
  slotq_mgr_t *mgr;
  slotq_queue_t *q;
  slotq_token_t *offer, *tok;
  slotq_dequeuer_t *deq;
  slotq_kv env[] = {{SLOTQ_STR("GREETING"), SLOTQ_STR("hello")}};
  slotq_call call = {SLOTQ_STR("app"),
                     SLOTQ_STR("/hello"),
                     SLOTQ_STR("hello:1"),
                     SLOTQ_STR("http"),
                     30,
                     60,
                     128,
                     env,
                     1};
  int rc;

  if ((rc = slotq_mgr_create(&mgr)) != SLOTQ_OK) goto fail;
  /* A caller looks up the function's queue: it is now a Waiter there. */
  if ((rc = slotq_mgr_get(mgr, &call, &q, NULL)) != SLOTQ_OK) goto fail;
  /* A hot container offers its slot. */
  if ((rc = slotq_queue_slot(q, "c1", &echo_ops, &offer)) != SLOTQ_OK) goto fail;
  /* The caller takes the newest idle slot and claims it. */
  if ((rc = slotq_start_dequeuer(q, NULL, &deq)) != SLOTQ_OK) goto fail;
  if ((rc = slotq_dequeuer_next(deq, 1000000000, NULL, &tok)) != SLOTQ_OK) goto fail;
  if ((rc = slotq_token_acquire(tok)) != SLOTQ_OK) goto fail;
  slotq_queue_exit_state(q, SLOTQ_WAITER);
  slotq_dequeuer_free(deq);
  /* It runs the call and gives the slot back. */
  slotq_token_exec(tok, NULL, "#1", NULL);
  slotq_token_close(tok, NULL);
  slotq_token_release(tok);
  slotq_token_release(offer);
  /* The container offers again; nobody comes, so it ejects its idle slot. */
  if ((rc = slotq_queue_slot(q, "c1", &echo_ops, &offer)) != SLOTQ_OK) goto fail;
  if (slotq_token_wait(offer, 10000000, NULL, NULL) == SLOTQ_ETIMEDOUT &&
      slotq_eject(q, offer) == SLOTQ_OK) {
    printf("container c1 ejected its idle slot\n");
  }
  slotq_token_release(offer);
  slotq_queue_release(q);
  slotq_mgr_destroy(mgr);
  return 0;
fail:
  fprintf(stderr, "hello: %s\n", slotq_strerror(rc));
  return 1;
}
