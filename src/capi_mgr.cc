// C API: the manager.
#include "capi.h"
#include "key.h"

using namespace slotq;

extern "C" {

int slotq_mgr_create(slotq_mgr_t **out) {
  if (out == nullptr) return SLOTQ_EINVAL;
  Manager *m = Manager::Create();
  if (m == nullptr) return SLOTQ_ENOMEM;
  *out = AsHandle(m);
  return SLOTQ_OK;
}

void slotq_mgr_destroy(slotq_mgr_t *mgr) {
  if (mgr != nullptr) GuardVoid([&] { AsManager(mgr)->Destroy(); });
}

int slotq_mgr_get_by_key(slotq_mgr_t *mgr, const slotq_key *key, slotq_queue_t **queue,
                         int *is_new) {
  if (mgr == nullptr || key == nullptr || queue == nullptr) return SLOTQ_EINVAL;
  return Guard([&] {
    Queue *q = nullptr;
    int rc = AsManager(mgr)->Get(*key, &q, is_new);
    if (rc == SLOTQ_OK) *queue = AsHandle(q);
    return rc;
  });
}

int slotq_mgr_get(slotq_mgr_t *mgr, const slotq_call *call, slotq_queue_t **queue, int *is_new) {
  if (mgr == nullptr || call == nullptr || queue == nullptr) return SLOTQ_EINVAL;
  slotq_key key;
  int rc = Guard([&] { return CallKey(*call, &key); });
  if (rc != SLOTQ_OK) return rc;
  return slotq_mgr_get_by_key(mgr, &key, queue, is_new);
}

int slotq_mgr_delete(slotq_mgr_t *mgr, slotq_queue_t *queue) {
  if (mgr == nullptr || queue == nullptr) return SLOTQ_EINVAL;
  return Guard([&] { return AsManager(mgr)->Delete(AsQueue(queue)); });
}

int slotq_mgr_count(slotq_mgr_t *mgr, size_t *count) {
  if (mgr == nullptr || count == nullptr) return SLOTQ_EINVAL;
  return Guard([&] {
    *count = AsManager(mgr)->Count();
    return SLOTQ_OK;
  });
}

int slotq_mgr_set_max_waiters(slotq_mgr_t *mgr, uint32_t max_waiters) {
  if (mgr == nullptr) return SLOTQ_EINVAL;
  return Guard([&] {
    AsManager(mgr)->SetMaxWaiters(max_waiters);
    return SLOTQ_OK;
  });
}

}  // extern "C"
