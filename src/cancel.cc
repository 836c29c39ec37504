#include "cancel.h"

#include <new>

#include "clock.h"
#include "deadline_timer.h"
#include "futex.h"
#include "slotq.h"

namespace slotq {

CancelToken::CancelToken(CancelToken *parent, int64_t deadline_ns)
    : deadline_(parent && parent->deadline_ < deadline_ns ? parent->deadline_ : deadline_ns),
      parent_(parent),
      parent_node_(this) {}

CancelToken *CancelToken::Create(CancelToken *parent, int64_t deadline_ns) {
  CancelToken *t = new (std::nothrow) CancelToken(parent, deadline_ns);
  if (t == nullptr) return nullptr;
  if (parent != nullptr) {
    parent->Retain();
    // Deadlines are inherited through deadline_, so the parent only needs to
    // tell us about explicit cancellation: no timer watch.
    parent->Register(&t->parent_node_, false);
  }
  return t;
}

void CancelToken::PropagateFromParent(CancelNode *node, int reason) {
  CancelToken *child = static_cast<ParentNode *>(node)->child;
  // Hold the child while its callbacks run, so that a thread dropping its
  // last reference meanwhile does not wait for them (in Destroy, through
  // our Unregister). A child whose count already reached zero is being
  // destroyed: nobody can register on it or wait on it any more.
  if (!child->TryRetain()) return;
  // The parent weighed its deadline when it fired: a child that inherited
  // it keeps the parent's reason even if the deadline passes meanwhile (an
  // earlier callback may be slow). Only a deadline of the child's own,
  // earlier than the parent's, can make it a timeout.
  if (reason == SLOTQ_ECANCELED && child->deadline_ < child->parent_->deadline_ &&
      DeadlinePassed(child->deadline_)) {
    reason = SLOTQ_ETIMEDOUT;
  }
  child->FireWith(reason);
  child->Release();
}

bool CancelToken::TryRetain() {
  uint32_t r = refs_.load(std::memory_order_relaxed);
  while (r != 0) {
    if (refs_.compare_exchange_weak(r, r + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

void CancelToken::Release() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  {
    // The last reference dropped from a callback that our own Fire() runs
    // on this thread: Fire() still walks our list, so it destroys us once
    // it is done. (Fire() on another thread always holds a reference: its
    // caller's, or PropagateFromParent's.)
    MutexLock l(&mu_);
    if (firing_ && pthread_equal(firing_thread_, pthread_self())) {
      destroy_when_fired_ = true;
      return;
    }
  }
  Destroy();
}

void CancelToken::Destroy() {
  if (parent_ != nullptr) {
    parent_->Unregister(&parent_node_);
    parent_->Release();
  }
  delete this;
}

int CancelToken::Reason() const {
  int r = reason_.load(std::memory_order_acquire);
  if (r != 0) return r;
  if (DeadlinePassed(deadline_)) return SLOTQ_ETIMEDOUT;
  return SLOTQ_OK;
}

void CancelToken::Cancel() { Fire(SLOTQ_ECANCELED); }

void CancelToken::StopWatching() {
  if (UnwatchDeadline(this)) Release();  // else the timer fires us now, and releases us
}

void CancelToken::BeginRun(CancelNode *n, bool *destroyed) {
  n->started = true;
  n->running = true;
  n->runner = pthread_self();
  n->destroyed = destroyed;
}

void CancelToken::RunNode(CancelNode *n, int reason, bool *destroyed) {
  n->fn(n, reason);
  MutexLock l(&mu_);
  // fn unregistered n, or ended its run early: n may be freed already.
  if (*destroyed) return;
  MarkReturned(n);
}

void CancelToken::MarkReturned(CancelNode *n) {
  *n->destroyed = true;  // the running thread's RunNode must not touch n again
  n->running = false;
  n->destroyed = nullptr;
  // An unregistering thread may sleep on done. It cannot free n before it
  // also takes mu_, which we hold.
  if (n->done.exchange(kDoneYes, std::memory_order_release) == kDoneWaited) {
    FutexWakeAll(&n->done);
  }
}

void CancelToken::EndRun(CancelNode *node) {
  // fn runs inside Fire or Register, which hold a reference until RunNode
  // has taken mu_ again: the token outlives this call, and RunNode, even if
  // the node's owner drops its reference as soon as we unlock.
  MutexLock l(&mu_);
  MarkReturned(node);
}

void CancelToken::Fire(int reason) {
  // A token whose deadline passed first keeps that reason, even if nobody
  // noticed before it was cancelled.
  if (reason == SLOTQ_ECANCELED && DeadlinePassed(deadline_)) {
    reason = SLOTQ_ETIMEDOUT;
  }
  FireWith(reason);
}

void CancelToken::FireWith(int reason) {
  int expected = 0;
  if (!reason_.compare_exchange_strong(expected, reason, std::memory_order_acq_rel)) return;
  bool unwatch;
  {
    MutexLock l(&mu_);
    firing_ = true;
    firing_thread_ = pthread_self();
    unwatch = watched_;  // fired: the timer has nothing left to do for us
    watched_ = false;
  }
  if (unwatch) StopWatching();
  for (;;) {
    bool destroyed = false;
    CancelNode *n;
    {
      MutexLock l(&mu_);
      n = head_;
      if (n == nullptr) {
        firing_ = false;
        if (!destroy_when_fired_) return;
        break;
      }
      head_ = n->next;
      if (head_ != nullptr)
        head_->prev = nullptr;
      else
        tail_ = nullptr;
      n->in_list = false;
      BeginRun(n, &destroyed);
    }
    RunNode(n, reason, &destroyed);
  }
  Destroy();  // a callback dropped our last reference meanwhile
}

bool CancelToken::Append(CancelNode *node, bool watch_deadline) {
  MutexLock l(&mu_);
  if (reason_.load(std::memory_order_acquire) != 0) return false;
  // Appended: callbacks run in the order they were registered.
  node->next = nullptr;
  node->prev = tail_;
  if (tail_ != nullptr)
    tail_->next = node;
  else
    head_ = node;
  tail_ = node;
  node->in_list = true;
  if (watch_deadline && deadline_ != kNoDeadline) {
    node->needs_timer = true;
    timer_watchers_++;
    // Into the timer before anybody can see watched_: a Fire or an
    // Unregister that clears it takes the token back out of the timer,
    // which would miss it if it were added after our unlock (and the timer
    // would hold it until the deadline). Lock order: our mu_, then the
    // timer's, which never calls into a token while it holds its own.
    if (!watched_) {
      Retain();  // the timer's reference, until it fires us or lets go
      if (WatchDeadline(this, deadline_)) {
        watched_ = true;
      } else {
        refs_.fetch_sub(1, std::memory_order_relaxed);  // not the last: the caller holds one
      }
    }
  }
  return true;
}

bool CancelToken::Register(CancelNode *node, bool watch_deadline) {
  if (Reason() == SLOTQ_OK) {
    if (Append(node, watch_deadline)) return true;
  } else {
    Fire(Reason());  // a passed deadline nobody fired yet
  }
  // Already fired: run it here, under the same protocol as Fire. fn may
  // unregister itself and drop the caller's reference, the last one: RunNode
  // still takes mu_ after it, so hold the token until then.
  Retain();
  bool destroyed = false;
  {
    MutexLock l(&mu_);
    BeginRun(node, &destroyed);
  }
  RunNode(node, reason_.load(std::memory_order_acquire), &destroyed);
  Release();
  return false;
}

bool CancelToken::RegisterQuiet(CancelNode *node) {
  return Reason() == SLOTQ_OK && Append(node, false);
}

bool CancelToken::Unregister(CancelNode *node) {
  bool unwatch = false;
  {
    MutexLock l(&mu_);
    if (node->in_list) {
      if (node->prev != nullptr)
        node->prev->next = node->next;
      else
        head_ = node->next;
      if (node->next != nullptr)
        node->next->prev = node->prev;
      else
        tail_ = node->prev;
      node->in_list = false;
      if (node->needs_timer && --timer_watchers_ == 0 && watched_) {
        // Nothing needs us fired at the deadline any more: do not let the
        // timer hold us until then.
        watched_ = false;
        unwatch = true;
      }
    } else if (!node->started) {
      return false;
    } else if (node->running && pthread_equal(node->runner, pthread_self())) {
      // Called from inside node->fn: the running thread must not touch node again.
      *node->destroyed = true;
      return true;
    } else {
      goto wait_for_fn;
    }
  }
  // The caller holds a reference, so dropping the timer's cannot free us.
  if (unwatch) StopWatching();
  return false;

wait_for_fn:
  // fn started on another thread: wait until it returned.
  for (;;) {
    uint32_t d = node->done.load(std::memory_order_acquire);
    if (d == kDoneYes) break;
    if (d == kDoneNo &&
        !node->done.compare_exchange_weak(d, kDoneWaited, std::memory_order_acquire)) {
      continue;
    }
    FutexWait(&node->done, kDoneWaited, kNoDeadline);
  }
  // RunNode (or EndRun) wakes us under mu_; taking it once more makes sure
  // it finished touching node before the caller frees it.
  MutexLock l(&mu_);
  return true;
}

}  // namespace slotq
