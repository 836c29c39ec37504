#include "dequeuer.h"

#include <sched.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <new>

#include "clock.h"
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

// Clears Dequeuer::in_next_ when Next() returns.
class InNextGuard {
 public:
  explicit InNextGuard(std::atomic<bool> *flag) : flag_(flag) {}
  ~InNextGuard() { flag_->store(false, std::memory_order_release); }
  InNextGuard(const InNextGuard &) = delete;
  InNextGuard &operator=(const InNextGuard &) = delete;

 private:
  std::atomic<bool> *flag_;
};

}  // namespace

Dequeuer::AfterUnlock::~AfterUnlock() {
  for (PendingWake &w : wake) w.Deliver();
  for (Token *t : drop) {
    if (t != nullptr) t->Release();
  }
}

Dequeuer *Dequeuer::Create(Queue *q, CancelToken *cancel) {
  Dequeuer *d = new (std::nothrow) Dequeuer(q, cancel);
  if (d == nullptr) return nullptr;
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
  if (in_next_.exchange(true, std::memory_order_acquire)) return SLOTQ_EBUSY;
  InNextGuard guard(&in_next_);
  int64_t deadline = timeout_ns == SLOTQ_FOREVER ? kNoDeadline : DeadlineAfter(timeout_ns);
  Queue *q = queue_;
  Parker *parker = nullptr;
  {
    AfterUnlock after;
    MutexLock l(&q->mu_);
    // The token we lent last time and nobody acquired goes back first.
    after.drop[0] = q->GiveBack(&lent_, &after.wake[0]);
    if (handed_ != nullptr) {  // handed while armed, or after a blocked Next() gave up
      lent_ = handed_;
      handed_ = nullptr;
      lent_->Retain();
      *out = lent_;
      return SLOTQ_OK;
    }
    if (stopped_.load(std::memory_order_acquire)) return SLOTQ_ESTOPPED;
    if (Cancelled(cancel)) return SLOTQ_ECANCELED;
    if (Token *t = q->Pop()) {
      uint32_t v = t->word.load(std::memory_order_relaxed);
      while (!t->word.compare_exchange_weak(v, (v & ~kStateMask) | SLOTQ_TOKEN_LENT,
                                            std::memory_order_acq_rel)) {
      }
      lent_ = t;  // the stack's reference becomes ours
      t->Retain();
      *out = t;
      return SLOTQ_OK;
    }
    if (timeout_ns == 0) return SLOTQ_ETIMEDOUT;
    parker = ThisThreadParker();
    if (parker == nullptr) return SLOTQ_ENOMEM;
    // Nobody else writes our parker while we are not in a waiters list.
    SetPayload(&parker->word, kPayloadMask, kParkWaiting);
    parker_ = parker;
    if (!enlisted_) q->Enlist(this);
  }

  int rc = BlockOn(
      &parker->word, [](uint32_t p) { return p != kParkWaiting; }, deadline, cancel_, cancel);

  AfterUnlock after;
  MutexLock l(&q->mu_);
  parker_ = nullptr;
  if (enlisted_) {
    // Timed out or cancelled while still waiting. An armed dequeuer stays in
    // the list for its host's notification.
    if (!armed_) q->Delist(this);
    return rc;
  }
  if (handed_ == nullptr) return rc == SLOTQ_ECANCELED ? rc : SLOTQ_ESTOPPED;
  // A token was handed to us, maybe just after our timeout or cancellation.
  if (rc == SLOTQ_ECANCELED) {
    after.drop[0] = q->GiveBack(&handed_, &after.wake[0]);
    return SLOTQ_ECANCELED;
  }
  lent_ = handed_;
  handed_ = nullptr;
  lent_->Retain();
  *out = lent_;
  return SLOTQ_OK;
}

void Dequeuer::StopLocked(AfterUnlock *after, bool notify, bool cancelled) {
  if (enlisted_) {
    if (parker_ == nullptr) {
      queue_->Delist(this);
    } else if (!cancelled) {
      // A blocked Next() returns SLOTQ_ESTOPPED. (When our token fired, it
      // wakes by itself with SLOTQ_ECANCELED and leaves the list itself.)
      queue_->Delist(this);
      after->wake[0].word = &parker_->word;
      after->wake[0].old = SetPayload(after->wake[0].word, kPayloadMask, kParkStopped);
    }
  }
  // Slots we hold go back to the queue at once. A thread blocked in Next()
  // deals with a slot handed to it itself.
  after->drop[0] = queue_->GiveBack(&lent_, &after->wake[1]);
  if (parker_ == nullptr) after->drop[1] = queue_->GiveBack(&handed_, &after->wake[2]);
  if (armed_) {
    armed_ = false;
    if (notify) {
      notifying_++;
      after->wake[0].notify = this;
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
  MutexLock l(&d->queue_->mu_);
  d->StopLocked(&after, true, true);
}

int Dequeuer::Arm() {
  PendingWake wake;
  int rc = SLOTQ_OK;
  {
    MutexLock l(&queue_->mu_);
    if (armed_) return SLOTQ_OK;  // already armed: one notification is coming
    bool now = false;
    if (handed_ != nullptr) {
      now = true;  // uncollected: tell again
    } else if (stopped_.load(std::memory_order_acquire)) {
      now = true;
      rc = SLOTQ_ESTOPPED;
    } else if (Cancelled(nullptr)) {
      now = true;
    } else if (Token *t = queue_->Pop()) {
      uint32_t v = t->word.load(std::memory_order_relaxed);
      while (!t->word.compare_exchange_weak(v, (v & ~kStateMask) | SLOTQ_TOKEN_LENT,
                                            std::memory_order_acq_rel)) {
      }
      handed_ = t;  // the stack's reference becomes ours
      now = true;
    }
    if (now) {
      notifying_++;
      wake.notify = this;
    } else {
      armed_ = true;
      if (!enlisted_) queue_->Enlist(this);
    }
  }
  wake.Deliver();
  return rc;
}

void Dequeuer::Notify() {
  slotq_notify_fn fn;
  void *arg;
  int fd;
  {
    MutexLock l(&queue_->mu_);
    fn = notify_fn_;
    arg = notify_arg_;
    fd = fd_;
  }
  NotifyingFrame frame{this, t_notifying};
  t_notifying = &frame;
  if (fn != nullptr) fn(arg);
  if (fd >= 0) {
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof(one));
    (void)n;  // EAGAIN only when the counter is saturated: still readable
  }
  t_notifying = frame.outer;
  bool finish;
  {
    MutexLock l(&queue_->mu_);
    notifying_--;
    finish = free_deferred_ && notifying_ == 0;
  }
  if (finish) FinishFree();
}

bool Dequeuer::OnNotifyingThread() const {
  for (NotifyingFrame *f = t_notifying; f != nullptr; f = f->outer) {
    if (f->deq == this) return true;
  }
  return false;
}

void Dequeuer::Free() {
  stopped_.store(true, std::memory_order_release);
  // Called from our own notification callback, the free is finished by that
  // notification once it returns (Notify); otherwise we let notifications
  // already decided on other threads finish first: they are short host
  // callbacks, and no new one can start once we are stopped and disarmed.
  bool deferred = OnNotifyingThread();
  {
    AfterUnlock after;
    queue_->mu_.Lock();
    while (!deferred && notifying_ > 0) {
      queue_->mu_.Unlock();
      sched_yield();
      queue_->mu_.Lock();
    }
    StopLocked(&after, false, false);
    free_deferred_ = deferred;
    queue_->mu_.Unlock();
  }
  if (!deferred) FinishFree();
}

void Dequeuer::FinishFree() {
  if (watching_cancel_) cancel_->Unregister(&cancel_watch_);
  if (fd_ >= 0) close(fd_);
  if (cancel_ != nullptr) cancel_->Release();
  queue_->ReleaseHandle();
  delete this;
}

}  // namespace slotq
