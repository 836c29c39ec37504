#include "host_loops.h"

#include "cancel.h"
#include "clock.h"
#include "dequeuer.h"
#include "key.h"
#include "manager.h"
#include "policy.h"
#include "queue.h"
#include "token.h"

namespace slotq {

int ContainerOffer(Queue *q, void *slot, const slotq_slot_ops *ops, int64_t deadline,
                   CancelToken *cancel, Token **out) {
  Token *t = nullptr;
  int rc = q->QueueSlot(slot, ops, &t);
  if (rc != SLOTQ_OK) return rc;
  rc = t->Wait(deadline, cancel, false);
  if (rc != SLOTQ_OK) {
    // Idle too long, or cancelled: take the slot back, unless a caller
    // acquired it at that very moment; then the call is served (as the seed).
    if (q->Eject(t) == SLOTQ_OK) {
      t->Release();
      return rc;
    }
  }
  if (t->State() == SLOTQ_TOKEN_ACQUIRED) {
    *out = t;
    return SLOTQ_OK;
  }
  // Somebody else ejected our token.
  t->Release();
  return SLOTQ_EGONE;
}

int CallerWaitChecked(Queue *q, int64_t deadline, int64_t ping_ns, CancelToken *cancel, Token **out,
                      int *slot_err) {
  slotq_stats st;
  q->Snapshot(&st);
  if (st.states[SLOTQ_WAITER] == 0) return SLOTQ_ESTATE;  // nobody to wait as
  return CallerWait(q, deadline, ping_ns, cancel, out, slot_err);
}

int CallerWait(Queue *q, int64_t deadline, int64_t ping_ns, CancelToken *cancel, Token **out,
               int *slot_err) {
  int64_t start = NowNs();
  int rc;
  Dequeuer *d = Dequeuer::Create(q, nullptr);
  if (d == nullptr) {
    rc = SLOTQ_ENOMEM;
  } else {
    for (;;) {
      q->Signal();  // wake the launcher: at start, then every ping
      int64_t wait = deadline - NowNs();
      if (wait < 0) wait = 0;
      if (wait > ping_ns) wait = ping_ns;
      Token *t = nullptr;
      rc = d->Next(wait, cancel, &t);
      if (rc == SLOTQ_ETIMEDOUT) {
        if (NowNs() >= deadline) break;
        continue;  // ping again
      }
      if (rc != SLOTQ_OK) break;
      if (t->Acquire() != SLOTQ_OK) {  // ejected meanwhile: try again
        t->Release();
        continue;
      }
      int err = t->Error();
      if (err != 0) {  // the slot stands for a failed container
        (void)t->Close(nullptr);
        t->Release();
        if (slot_err != nullptr) *slot_err = err;
        rc = SLOTQ_ESLOT;
        break;
      }
      *out = t;
      break;
    }
    d->Free();
  }
  (void)q->ExitStateLatency(SLOTQ_WAITER, static_cast<uint64_t>(NowNs() - start));
  return rc;
}

int CallerAcquire(Manager *m, const slotq_call &call, int64_t deadline, int64_t ping_ns,
                  CancelToken *cancel, Token **out, int *slot_err) {
  slotq_key key;
  int rc = CallKey(call, &key);
  if (rc != SLOTQ_OK) return rc;
  Queue *q = nullptr;
  rc = m->Get(key, &q, nullptr);  // enters Waiter
  if (rc != SLOTQ_OK) return rc;
  rc = CallerWait(q, deadline, ping_ns, cancel, out, slot_err);
  q->ReleaseHandle();
  return rc;
}

int LauncherStep(Manager *m, Queue *q, const slotq_policy *policy, int64_t deadline,
                 CancelToken *cancel, int *action, slotq_stats *stats) {
  // A bad policy is refused before the wait, which would consume a signal
  // (or delete the queue) only to fail after it.
  if (!ValidPolicy(policy)) return SLOTQ_EINVAL;
  int rc = q->WaitSignal(deadline, cancel);
  if (rc == SLOTQ_ECANCELED) return rc;
  if (rc == SLOTQ_ETIMEDOUT && m != nullptr) {
    int del = m->Delete(q);
    // Not in the manager (deleted already, or another manager's): done with
    // it if idle, as the seed's deleteSlotQueue; otherwise its waiters still
    // need containers.
    if (del == SLOTQ_OK || (del == SLOTQ_ENOTFOUND && q->Idle())) {
      if (stats != nullptr) q->Snapshot(stats);
      *action = SLOTQ_LAUNCH_DELETED;
      return SLOTQ_OK;
    }
  }
  bool needed = false;
  rc = EvaluatePolicy(q, policy, &needed, stats);
  if (rc != SLOTQ_OK) return rc;
  if (needed) {
    rc = q->EnterState(SLOTQ_STARTER);
    if (rc != SLOTQ_OK) return rc;
  }
  *action = needed ? SLOTQ_LAUNCH_START : SLOTQ_LAUNCH_NONE;
  return SLOTQ_OK;
}

}  // namespace slotq
