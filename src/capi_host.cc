// C API: launch policies, host loops and metrics.
#include <stdlib.h>
#include <string.h>

#include <string>

#include "capi.h"
#include "host_loops.h"
#include "key.h"
#include "metrics.h"
#include "policy.h"

using namespace slotq;

extern "C" {

int slotq_queue_evaluate_policy(const slotq_queue_t *queue, const slotq_policy *policy, int *needed,
                                slotq_stats *stats) {
  if (queue == nullptr || needed == nullptr) return SLOTQ_EINVAL;
  bool n = false;
  int rc = EvaluatePolicy(AsQueue(queue), policy, &n, stats);
  if (rc == SLOTQ_OK) *needed = n ? 1 : 0;
  return rc;
}

int slotq_container_offer(slotq_queue_t *queue, void *slot, const slotq_slot_ops *ops,
                          int64_t idle_timeout_ns, slotq_cancel_t *cancel, slotq_token_t **token) {
  if (queue == nullptr || ops == nullptr || token == nullptr ||
      (idle_timeout_ns <= 0 && idle_timeout_ns != SLOTQ_FOREVER)) {
    return SLOTQ_EINVAL;
  }
  *token = nullptr;
  return Guard([&] {
    Token *t = nullptr;
    int rc = ContainerOffer(AsQueue(queue), slot, ops, DeadlineOf(idle_timeout_ns),
                            AsCancel(cancel), &t);
    if (rc == SLOTQ_OK) *token = AsHandle(t);
    return rc;
  });
}

int slotq_caller_acquire(slotq_mgr_t *mgr, const slotq_call *call, int64_t timeout_ns,
                         int64_t ping_ns, slotq_cancel_t *cancel, slotq_token_t **token,
                         int *slot_err) {
  if (mgr == nullptr || call == nullptr || token == nullptr || !ValidTimeout(timeout_ns) ||
      ping_ns < 0) {
    return SLOTQ_EINVAL;
  }
  return Guard([&] {
    Token *t = nullptr;
    int rc = CallerAcquire(AsManager(mgr), *call, DeadlineOf(timeout_ns),
                           ping_ns == 0 ? SLOTQ_DEFAULT_PING_NS : ping_ns, AsCancel(cancel), &t,
                           slot_err);
    if (rc == SLOTQ_OK) *token = AsHandle(t);
    return rc;
  });
}

int slotq_caller_wait(slotq_queue_t *queue, int64_t timeout_ns, int64_t ping_ns,
                      slotq_cancel_t *cancel, slotq_token_t **token, int *slot_err) {
  if (queue == nullptr || token == nullptr || !ValidTimeout(timeout_ns) || ping_ns < 0) {
    return SLOTQ_EINVAL;
  }
  return Guard([&] {
    Token *t = nullptr;
    int rc = CallerWaitChecked(AsQueue(queue), DeadlineOf(timeout_ns),
                               ping_ns == 0 ? SLOTQ_DEFAULT_PING_NS : ping_ns, AsCancel(cancel), &t,
                               slot_err);
    if (rc == SLOTQ_OK) *token = AsHandle(t);
    return rc;
  });
}

int slotq_launcher_step(slotq_mgr_t *mgr, slotq_queue_t *queue, const slotq_policy *policy,
                        int64_t inactivity_ns, slotq_cancel_t *cancel, int *action,
                        slotq_stats *stats) {
  if (queue == nullptr || action == nullptr ||
      (inactivity_ns <= 0 && inactivity_ns != SLOTQ_FOREVER)) {
    return SLOTQ_EINVAL;
  }
  return Guard([&] {
    return LauncherStep(mgr != nullptr ? AsManager(mgr) : nullptr, AsQueue(queue), policy,
                        DeadlineOf(inactivity_ns), AsCancel(cancel), action, stats);
  });
}

int slotq_mgr_metrics(slotq_mgr_t *mgr, char **text, size_t *len) {
  if (mgr == nullptr || text == nullptr) return SLOTQ_EINVAL;
  return Guard([&] {
    std::string s;
    RenderMetrics(AsManager(mgr), &s);
    char *buf = static_cast<char *>(malloc(s.size() + 1));
    if (buf == nullptr) return static_cast<int>(SLOTQ_ENOMEM);
    memcpy(buf, s.c_str(), s.size() + 1);
    *text = buf;
    if (len != nullptr) *len = s.size();
    return static_cast<int>(SLOTQ_OK);
  });
}

void slotq_free(void *p) { free(p); }

}  // extern "C"
