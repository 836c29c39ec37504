// C API: slot queues, their state counters, policy and signaller.
#include <string.h>

#include "capi.h"
#include "signal_listener.h"

using namespace slotq;

extern "C" {

int slotq_queue_create(const void *key, size_t key_len, slotq_queue_t **out) {
  if (out == nullptr || (key == nullptr && key_len != 0) || key_len > SLOTQ_MAX_QUEUE_KEY) {
    return SLOTQ_EINVAL;
  }
  Queue *q = Queue::Create(key, key_len);
  if (q == nullptr) return SLOTQ_ENOMEM;
  *out = AsHandle(q);
  return SLOTQ_OK;
}

int slotq_queue_retain(slotq_queue_t *queue) {
  if (queue == nullptr) return SLOTQ_EINVAL;
  AsQueue(queue)->RetainHandle();
  return SLOTQ_OK;
}

void slotq_queue_release(slotq_queue_t *queue) {
  if (queue != nullptr) GuardVoid([&] { AsQueue(queue)->ReleaseHandle(); });
}

int slotq_queue_key(const slotq_queue_t *queue, void *buf, size_t cap, size_t *len) {
  if (queue == nullptr || len == nullptr) return SLOTQ_EINVAL;
  const Queue *q = AsQueue(queue);
  if (buf != nullptr && cap < q->key_len()) return SLOTQ_EINVAL;
  if (buf != nullptr && q->key_len() != 0) memcpy(buf, q->key(), q->key_len());
  *len = q->key_len();
  return SLOTQ_OK;
}

int slotq_queue_slot(slotq_queue_t *queue, void *slot, const slotq_slot_ops *ops,
                     slotq_token_t **token) {
  if (queue == nullptr || ops == nullptr || token == nullptr) return SLOTQ_EINVAL;
  Token *t = nullptr;
  int rc = AsQueue(queue)->QueueSlot(slot, ops, &t);
  if (rc == SLOTQ_OK) *token = AsHandle(t);
  return rc;
}

int slotq_eject(slotq_queue_t *queue, slotq_token_t *token) {
  if (queue == nullptr || token == nullptr) return SLOTQ_EINVAL;
  return AsQueue(queue)->Eject(AsToken(token));
}

int slotq_queue_len(const slotq_queue_t *queue, size_t *len) {
  if (queue == nullptr || len == nullptr) return SLOTQ_EINVAL;
  *len = AsQueue(queue)->Len();
  return SLOTQ_OK;
}

int slotq_queue_enter_state(slotq_queue_t *queue, int state) {
  if (queue == nullptr || !ValidState(state)) return SLOTQ_EINVAL;
  return AsQueue(queue)->EnterState(state);
}

int slotq_queue_exit_state(slotq_queue_t *queue, int state) {
  if (queue == nullptr || !ValidState(state)) return SLOTQ_EINVAL;
  return AsQueue(queue)->ExitState(state);
}

int slotq_queue_exit_state_latency(slotq_queue_t *queue, int state, uint64_t latency) {
  if (queue == nullptr || !ValidState(state)) return SLOTQ_EINVAL;
  return AsQueue(queue)->ExitStateLatency(state, latency);
}

int slotq_queue_record_latency(slotq_queue_t *queue, int state, uint64_t latency) {
  if (queue == nullptr || !ValidState(state)) return SLOTQ_EINVAL;
  AsQueue(queue)->RecordLatency(state, latency);
  return SLOTQ_OK;
}

int slotq_queue_stats(const slotq_queue_t *queue, slotq_stats *out) {
  if (queue == nullptr || out == nullptr) return SLOTQ_EINVAL;
  AsQueue(queue)->Snapshot(out);
  return SLOTQ_OK;
}

int slotq_queue_is_idle(const slotq_queue_t *queue, int *idle) {
  if (queue == nullptr || idle == nullptr) return SLOTQ_EINVAL;
  *idle = AsQueue(queue)->Idle() ? 1 : 0;
  return SLOTQ_OK;
}

int slotq_queue_is_new_container_needed(const slotq_queue_t *queue, int *needed,
                                        slotq_stats *stats) {
  if (queue == nullptr || needed == nullptr) return SLOTQ_EINVAL;
  slotq_stats s;
  AsQueue(queue)->Snapshot(&s);
  *needed = SeedPolicyNeedsContainer(s) ? 1 : 0;
  if (stats != nullptr) *stats = s;
  return SLOTQ_OK;
}

int slotq_queue_signal(slotq_queue_t *queue, int *sent) {
  if (queue == nullptr) return SLOTQ_EINVAL;
  bool s = AsQueue(queue)->Signal();
  if (sent != nullptr) *sent = s ? 1 : 0;
  return SLOTQ_OK;
}

int slotq_queue_wait_signal(slotq_queue_t *queue, int64_t timeout_ns, slotq_cancel_t *cancel) {
  if (queue == nullptr || !ValidTimeout(timeout_ns)) return SLOTQ_EINVAL;
  return AsQueue(queue)->WaitSignal(DeadlineOf(timeout_ns), AsCancel(cancel));
}

}  // extern "C"

extern "C" {

int slotq_queue_set_signal_notify(slotq_queue_t *queue, slotq_notify_fn fn, void *arg) {
  if (queue == nullptr) return SLOTQ_EINVAL;
  return Guard([&] { return SetSignalListener(AsQueue(queue), fn, arg); });
}

int slotq_queue_signal_fd(slotq_queue_t *queue, int *fd) {
  if (queue == nullptr || fd == nullptr) return SLOTQ_EINVAL;
  return Guard([&] { return SignalListenerFd(AsQueue(queue), fd); });
}

}  // extern "C"
