/* The C side of the Go binding; see shim.h. */
#include <stdlib.h>

#include "_cgo_export.h"
#include "shim.h"

static int goslotq_close_cb(void *slot) { return goslotqClose((uintptr_t)slot); }

static void goslotq_release_cb(void *slot) { goslotqRelease((uintptr_t)slot); }

static void goslotq_trigger_cb(void *slot, int state) { goslotqTrigger((uintptr_t)slot, state); }

/* exec and error stay NULL: the Go binding runs Slot.Exec and Slot.Error
 * itself (see SlotToken.Exec), so that no goroutine sits in a callback from C
 * for the length of a call, pinning its OS thread. */
const slotq_slot_ops goslotq_slot_ops = {
    NULL,               /* exec */
    goslotq_close_cb,   /* close */
    NULL,               /* error */
    goslotq_release_cb, /* release */
    goslotq_trigger_cb, /* trigger */
};

static void goslotq_dequeuer_notify_cb(void *arg) { goslotqDequeuerNotify((uintptr_t)arg); }

static void goslotq_signal_notify_cb(void *arg) { goslotqSignalNotify((uintptr_t)arg); }

/* Builds the slotq_call of a flattened Go Call and runs `op` on it. Config
 * entries live on the stack up to this many, on the heap beyond. */
enum { GOSLOTQ_STACK_KV = 32 };

static int goslotq_with_call(const char *buf, const size_t *lens, size_t nkv, int32_t timeout,
                             int32_t idle_timeout, uint64_t memory, slotq_mgr_t *mgr,
                             slotq_key *key_out, slotq_queue_t **queue, int *is_new) {
  slotq_kv stack_kv[GOSLOTQ_STACK_KV];
  slotq_kv *kv = stack_kv;
  slotq_str *fields[4];
  slotq_call call;
  size_t off = 0;
  size_t i;
  int rc;

  if (nkv > GOSLOTQ_STACK_KV) {
    kv = (slotq_kv *)malloc(nkv * sizeof(slotq_kv));
    if (kv == NULL) return SLOTQ_ENOMEM;
  }
  fields[0] = &call.app_name;
  fields[1] = &call.path;
  fields[2] = &call.image;
  fields[3] = &call.format;
  for (i = 0; i < 4; i++) {
    fields[i]->ptr = lens[i] != 0 ? buf + off : NULL;
    fields[i]->len = lens[i];
    off += lens[i];
  }
  for (i = 0; i < nkv; i++) {
    size_t kl = lens[4 + 2 * i], vl = lens[5 + 2 * i];
    kv[i].key.ptr = kl != 0 ? buf + off : NULL;
    kv[i].key.len = kl;
    off += kl;
    kv[i].value.ptr = vl != 0 ? buf + off : NULL;
    kv[i].value.len = vl;
    off += vl;
  }
  call.timeout = timeout;
  call.idle_timeout = idle_timeout;
  call.memory = memory;
  call.config = nkv != 0 ? kv : NULL;
  call.config_len = nkv;
  if (mgr != NULL) {
    rc = slotq_mgr_get(mgr, &call, queue, is_new);
  } else {
    rc = slotq_call_key(&call, key_out);
  }
  if (kv != stack_kv) free(kv);
  return rc;
}

int goslotq_call_key(const char *buf, const size_t *lens, size_t nkv, int32_t timeout,
                     int32_t idle_timeout, uint64_t memory, slotq_key *out) {
  return goslotq_with_call(buf, lens, nkv, timeout, idle_timeout, memory, NULL, out, NULL, NULL);
}

int goslotq_mgr_get(slotq_mgr_t *mgr, const char *buf, const size_t *lens, size_t nkv,
                    int32_t timeout, int32_t idle_timeout, uint64_t memory, slotq_queue_t **queue,
                    int *is_new) {
  if (mgr == NULL) return SLOTQ_EINVAL;
  return goslotq_with_call(buf, lens, nkv, timeout, idle_timeout, memory, mgr, NULL, queue, is_new);
}

int goslotq_queue_slot(slotq_queue_t *queue, uintptr_t handle, slotq_token_t **token,
                       uint64_t *id) {
  int rc = slotq_queue_slot(queue, (void *)handle, &goslotq_slot_ops, token);
  if (rc == SLOTQ_OK) rc = slotq_token_id(*token, id);
  return rc;
}

int goslotq_dequeuer_poll(slotq_dequeuer_t *deq, slotq_token_t **token, uintptr_t *handle,
                          uint64_t *id, int *state) {
  void *slot = NULL;
  int rc = slotq_dequeuer_next(deq, 0, NULL, token);
  if (rc != SLOTQ_OK) return rc;
  (void)slotq_token_slot(*token, &slot);
  (void)slotq_token_id(*token, id);
  (void)slotq_token_state_get(*token, state, NULL);
  *handle = (uintptr_t)slot;
  return SLOTQ_OK;
}

int goslotq_start_dequeuer(slotq_queue_t *queue, uintptr_t handle, slotq_dequeuer_t **out) {
  slotq_dequeuer_t *deq = NULL;
  int rc = slotq_start_dequeuer(queue, NULL, &deq);
  if (rc != SLOTQ_OK) return rc;
  rc = slotq_dequeuer_set_notify(deq, goslotq_dequeuer_notify_cb, (void *)handle);
  if (rc == SLOTQ_OK) rc = slotq_dequeuer_arm(deq);
  if (rc != SLOTQ_OK) {
    slotq_dequeuer_free(deq);
    return rc;
  }
  *out = deq;
  return SLOTQ_OK;
}

int goslotq_queue_set_signal_notify(slotq_queue_t *queue, uintptr_t handle) {
  if (handle == 0) return slotq_queue_set_signal_notify(queue, NULL, NULL);
  return slotq_queue_set_signal_notify(queue, goslotq_signal_notify_cb, (void *)handle);
}
