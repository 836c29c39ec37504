#include "dequeuer.h"

#include <sched.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <new>

#include "clock.h"
#include "object_cache.h"
#include "queue.h"
#include "token.h"

namespace slotq {
namespace {

// The dequeuers whose notification this thread is delivering (innermost
// first), so that Free() from inside the host's callback can tell.
struct NotifyingFrame {
  const Dequeuer *deq;
  NotifyingFrame *outer;
};
thread_local NotifyingFrame *t_notifying = nullptr;

}  // namespace

void Dequeuer::AfterUnlock::RunSlow() {
  int nw = nwake, nd = ndrop;
  nwake = ndrop = 0;
  for (int i = 0; i < nw; i++) wake.at[i].Deliver();
  for (int i = 0; i < nd; i++) drop[i]->Release();
}

Dequeuer *Dequeuer::Create(Queue *q, CancelToken *cancel) {
  void *mem = ObjectCache<Dequeuer>::Allocate();
  if (mem == nullptr) return nullptr;
  Dequeuer *d = new (mem) Dequeuer(q, cancel);
  q->RetainHandle();
  if (cancel != nullptr) {
    cancel->Retain();
    // Follow the token for the dequeuer's whole life: when it fires, the
    // dequeuer at once behaves as stopped (OnCancel). If it already fired,
    // OnCancel runs right here.
    d->watching_cancel_ = true;
    cancel->Register(&d->cancel_watch_, true);
  }
  return d;
}

bool Dequeuer::Cancelled(CancelToken *extra) const {
  return (cancel_ != nullptr && cancel_->Fired()) || (extra != nullptr && extra->Fired());
}

int Dequeuer::Next(int64_t timeout_ns, CancelToken *cancel, Token **out) {
  // Set when the queue is first found empty: a call that finds a slot reads
  // no clock (a read costs ~26 ns on a VM's kvm-clock, a fifth of a cycle).
  int64_t deadline = kNoDeadline;
  bool deadline_set = timeout_ns == SLOTQ_FOREVER;
  Queue *q = queue_;
  Mutex *mu = &q->mu_;
  AfterUnlock after;
  mu->Lock();
  if (in_next_) {
    mu->Unlock();
    return SLOTQ_EBUSY;
  }
  in_next_ = true;
  int rc;
  for (;;) {
    // The token we lent last time and nobody acquired goes back first.
    after.GiveBack(q, &lent_);
    if (handed_ != nullptr) {  // handed while we slept, or while armed
      if (handed_->State() == SLOTQ_TOKEN_LENT) {
        lent_ = handed_;
        handed_ = nullptr;
        lent_->Retain();
        *out = lent_;
        rc = SLOTQ_OK;
        break;
      }
      // Ejected (or acquired by its container) before we collected it.
      after.GiveBack(q, &handed_);
    }
    if (stopped_.load(std::memory_order_acquire)) {
      rc = SLOTQ_ESTOPPED;
      break;
    }
    if (Cancelled(cancel)) {
      rc = SLOTQ_ECANCELED;
      break;
    }
    if (Token *t = q->PopLent()) {
      lent_ = t;  // the stack's reference becomes ours
      t->Retain();
      *out = t;
      rc = SLOTQ_OK;
      break;
    }
    if (timeout_ns == 0) {
      rc = SLOTQ_ETIMEDOUT;
      break;
    }
    if (!deadline_set) {
      deadline = DeadlineAfter(timeout_ns);
      deadline_set = true;
    } else if (DeadlinePassed(deadline)) {
      rc = SLOTQ_ETIMEDOUT;
      break;
    }
    if (after.Pending()) {
      // Deliver what we owe (releases and notifications run host code)
      // before we park: a callback might itself wait in slotq_dequeuer_next
      // on this thread, and one thread has one parker. Then look again.
      mu->Unlock();
      after.Run();
      mu->Lock();
      continue;
    }
    Parker *parker = ThisThreadParker();
    if (parker == nullptr) {
      rc = SLOTQ_ENOMEM;
      break;
    }
    // Nobody else writes our parker while we are not in a waiters list.
    SetPayload(&parker->word, kPayloadMask, kParkWaiting);
    parker_ = parker;
    if (!enlisted_) q->Enlist(this);
    mu->Unlock();
    rc = BlockOn(
        WaitKind::kDequeue, &parker->word, [](uint32_t p) { return p != kParkWaiting; }, deadline,
        cancel_, cancel);
    mu->Lock();
    parker_ = nullptr;
    if (enlisted_) {
      // Woken with a slot that Arm() on another thread then took back (it
      // was ejected or acquired before we got here) before putting us back
      // in the list: nothing for us yet, so wait again.
      if (rc == SLOTQ_OK) continue;
      // Timed out or cancelled while still waiting. An armed dequeuer stays
      // in the list for its host's notification.
      if (!armed_) q->Delist(this);
      break;
    }
    if (handed_ == nullptr) {  // stopped, or our token fired (OnCancel)
      if (rc != SLOTQ_ECANCELED) rc = SLOTQ_ESTOPPED;
      break;
    }
    if (rc == SLOTQ_ECANCELED) {  // a token came just after the cancellation
      after.GiveBack(q, &handed_);
      break;
    }
    // A token was handed to us (maybe just after our timeout): the top of
    // the loop takes it, or skips it if it was ejected meanwhile.
  }
  in_next_ = false;
  mu->Unlock();
  return rc;
}

void Dequeuer::StopLocked(AfterUnlock *after, bool notify, bool cancelled) {
  if (enlisted_) {
    if (parker_ == nullptr) {
      queue_->Delist(this);
    } else if (!cancelled) {
      // A blocked Next() returns SLOTQ_ESTOPPED. (When our token fired, it
      // wakes by itself with SLOTQ_ECANCELED and leaves the list itself.)
      queue_->Delist(this);
      PendingWake *w = after->NextWake();
      w->word = &parker_->word;
      w->old = SetPayload(w->word, kPayloadMask, kParkStopped);
    }
  }
  // Slots we hold go back to the queue at once. A thread blocked in Next()
  // deals with a slot handed to it itself.
  after->GiveBack(queue_, &lent_);
  if (parker_ == nullptr) after->GiveBack(queue_, &handed_);
  if (armed_) {
    armed_ = false;
    if (notify) {
      notifying_++;
      after->NextWake()->notify = this;
    }
  }
}

int Dequeuer::Stop() {
  if (stopped_.exchange(true, std::memory_order_acq_rel)) return SLOTQ_ESTOPPED;
  AfterUnlock after;
  MutexLock l(&queue_->mu_);
  StopLocked(&after, true, false);
  return SLOTQ_OK;
}

void Dequeuer::SetNotify(slotq_notify_fn fn, void *arg) {
  MutexLock l(&queue_->mu_);
  notify_fn_ = fn;
  notify_arg_ = arg;
}

int Dequeuer::Fd(int *fd) {
  MutexLock l(&queue_->mu_);
  shared_.store(true, std::memory_order_relaxed);
  if (fd_ < 0) {
    fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd_ < 0) return SLOTQ_ENOMEM;
  }
  *fd = fd_;
  return SLOTQ_OK;
}

void Dequeuer::OnCancel(CancelNode *node, int /*reason*/) {
  Dequeuer *d = static_cast<CancelWatch *>(node)->deq;
  AfterUnlock after;
  {
    MutexLock l(&d->queue_->mu_);
    d->StopLocked(&after, true, true);
  }
  // Done with d: a Free() waiting in Unregister may go on now, before the
  // delivery, which may run another dequeuer's callback, and that callback
  // may wait for the thread in Free(). The delivery needs nothing of d: the
  // words woken are Parkers' (never freed), a dequeuer to notify (d too) is
  // kept by its notifying_ count, and the references to drop are after's.
  d->cancel_->EndRun(node);
  after.Run();
}

int Dequeuer::Arm() {
  AfterUnlock after;
  int rc = SLOTQ_OK;
  MutexLock l(&queue_->mu_);
  shared_.store(true, std::memory_order_relaxed);
  if (armed_) return SLOTQ_OK;  // already armed: one notification is coming
  if (handed_ != nullptr && handed_->State() != SLOTQ_TOKEN_LENT) {
    // Ejected before it was collected: not worth a notification.
    after.GiveBack(queue_, &handed_);
  }
  bool now = false;
  if (handed_ != nullptr) {
    now = true;  // uncollected: tell again
  } else if (stopped_.load(std::memory_order_acquire)) {
    now = true;
    rc = SLOTQ_ESTOPPED;
  } else if (Cancelled(nullptr)) {
    now = true;
  } else if (Token *t = queue_->PopLent()) {
    handed_ = t;  // the stack's reference becomes ours
    now = true;
  }
  if (now) {
    notifying_++;
    after.NextWake()->notify = this;
  } else {
    armed_ = true;
    if (!enlisted_) queue_->Enlist(this);
  }
  return rc;
}

void Dequeuer::Notify() {
  slotq_notify_fn fn = nullptr;
  void *arg = nullptr;
  int fd = -1;
  bool deliver;
  {
    MutexLock l(&queue_->mu_);
    // Once the host freed the dequeuer, nothing of it may reach the host
    // again: a notification owed but not started is dropped. (It may be
    // owed by the very thread that freed it, from inside another
    // dequeuer's callback, so Free() cannot wait for it.)
    deliver = !freeing_;
    if (deliver) {
      running_++;
      fn = notify_fn_;
      arg = notify_arg_;
      fd = fd_;
    }
  }
  if (deliver) {
    NotifyingFrame frame{this, t_notifying};
    t_notifying = &frame;
    if (fn != nullptr) fn(arg);
    if (fd >= 0) {
      uint64_t one = 1;
      ssize_t n = write(fd, &one, sizeof(one));
      (void)n;  // EAGAIN only when the counter is saturated: still readable
    }
    t_notifying = frame.outer;
  }
  bool finish;
  PendingWake wake;
  {
    MutexLock l(&queue_->mu_);
    if (deliver) running_--;
    notifying_--;
    finish = free_deferred_ && notifying_ == 0;
    if (running_ == 0 && free_waiter_ != nullptr) {
      // Free() sleeps until no callback of ours runs on another thread.
      wake.word = &free_waiter_->word;
      wake.old = SetPayload(wake.word, kPayloadMask, kParkHanded);
      free_waiter_ = nullptr;
    }
  }
  // The word is a Parker's (never freed), so it may be woken after the
  // dequeuer is gone.
  wake.Deliver();
  if (finish) FinishFree();
}

bool Dequeuer::OnNotifyingThread() const {
  for (NotifyingFrame *f = t_notifying; f != nullptr; f = f->outer) {
    if (f->deq == this) return true;
  }
  return false;
}

// Free() without the queue's lock, for the common case. A dequeuer with no
// cancellation token, never armed, with no eventfd and not stopped is known
// to no other thread once no Next() runs on it (the caller's contract): it
// is in no waiters list and holds no handed slot, since only Next() enlists
// it then and Next() leaves neither behind. What is left is the slot it lent,
// if that is acquired or ejected (final: nobody changes it again) rather
// than still lent, which must go back under the lock.
bool Dequeuer::TryFreeUnshared() SLOTQ_NO_THREAD_SAFETY_ANALYSIS {
  if (cancel_ != nullptr || shared_.load(std::memory_order_acquire)) return false;
  // Stopped by another thread: its Stop() wrote lent_ under the lock, which
  // is what orders that write before our reads here.
  if (stopped_.load(std::memory_order_acquire)) return false;
  Token *t = lent_;
  if (t != nullptr) {
    int st = t->State();
    if (st == SLOTQ_TOKEN_LENT || st == SLOTQ_TOKEN_QUEUED) return false;
    lent_ = nullptr;
    t->Release();
  }
  FinishFree();
  return true;
}

void Dequeuer::Free() {
  if (TryFreeUnshared()) return;
  stopped_.store(true, std::memory_order_release);
  // Called from our own notification callback, we cannot wait for that
  // callback to return; otherwise we wait for callbacks running on other
  // threads: they are short host code that may still use this dequeuer.
  bool own = OnNotifyingThread();
  bool deferred;
  {
    AfterUnlock after;
    queue_->mu_.Lock();
    freeing_ = true;  // from now on, no callback of ours starts (Notify)
    while (!own && running_ > 0) {
      // Sleep until Notify() says the last running callback returned.
      // Without a parker (out of memory) fall back to yielding between looks.
      Parker *parker = ThisThreadParker();
      if (parker != nullptr) {
        SetPayload(&parker->word, kPayloadMask, kParkWaiting);
        free_waiter_ = parker;
      }
      queue_->mu_.Unlock();
      if (parker != nullptr) {
        (void)BlockOn(
            WaitKind::kCallback, &parker->word, [](uint32_t p) { return p != kParkWaiting; },
            kNoDeadline, nullptr, nullptr);
      } else {
        sched_yield();
      }
      queue_->mu_.Lock();
    }
    StopLocked(&after, false, false);
    // Notifications still owed (ours, or dropped ones not yet reached by
    // their threads) hold a pointer to us: the last of them frees us.
    deferred = notifying_ > 0;
    free_deferred_ = deferred;
    queue_->mu_.Unlock();
  }
  if (!deferred) FinishFree();
}

void Dequeuer::FinishFree() {
  if (watching_cancel_) cancel_->Unregister(&cancel_watch_);
  if (fd_ >= 0) close(fd_);
  if (cancel_ != nullptr) cancel_->Release();
  Queue *q = queue_;
  this->~Dequeuer();
  ObjectCache<Dequeuer>::Free(this);
  q->ReleaseHandle();
}

}  // namespace slotq
