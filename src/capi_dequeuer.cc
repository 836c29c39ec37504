// C API: dequeuers.
#include "capi.h"

using namespace slotq;

extern "C" {

int slotq_start_dequeuer(slotq_queue_t *queue, slotq_cancel_t *cancel, slotq_dequeuer_t **out) {
  if (queue == nullptr || out == nullptr) return SLOTQ_EINVAL;
  Dequeuer *d = Dequeuer::Create(AsQueue(queue), AsCancel(cancel));
  if (d == nullptr) return SLOTQ_ENOMEM;
  *out = AsHandle(d);
  return SLOTQ_OK;
}

int slotq_dequeuer_next(slotq_dequeuer_t *deq, int64_t timeout_ns, slotq_cancel_t *cancel,
                        slotq_token_t **token) {
  if (deq == nullptr || token == nullptr || !ValidTimeout(timeout_ns)) return SLOTQ_EINVAL;
  Token *t = nullptr;
  int rc = AsDequeuer(deq)->Next(timeout_ns, AsCancel(cancel), &t);
  if (rc == SLOTQ_OK) *token = AsHandle(t);
  return rc;
}

int slotq_dequeuer_stop(slotq_dequeuer_t *deq) {
  if (deq == nullptr) return SLOTQ_EINVAL;
  return AsDequeuer(deq)->Stop();
}

int slotq_dequeuer_set_notify(slotq_dequeuer_t *deq, slotq_notify_fn fn, void *arg) {
  if (deq == nullptr) return SLOTQ_EINVAL;
  AsDequeuer(deq)->SetNotify(fn, arg);
  return SLOTQ_OK;
}

int slotq_dequeuer_fd(slotq_dequeuer_t *deq, int *fd) {
  if (deq == nullptr || fd == nullptr) return SLOTQ_EINVAL;
  return AsDequeuer(deq)->Fd(fd);
}

int slotq_dequeuer_arm(slotq_dequeuer_t *deq) {
  if (deq == nullptr) return SLOTQ_EINVAL;
  return Guard([&] { return AsDequeuer(deq)->Arm(); });
}

void slotq_dequeuer_free(slotq_dequeuer_t *deq) {
  if (deq != nullptr) GuardVoid([&] { AsDequeuer(deq)->Free(); });
}

}  // extern "C"
