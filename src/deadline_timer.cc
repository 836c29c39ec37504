#include "deadline_timer.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "cancel.h"
#include "clock.h"
#include "slotq.h"

namespace slotq {
namespace {

using Entry = std::pair<int64_t, CancelToken *>;  // (deadline, token holding a reference)

constexpr int64_t kMaxWaitNs = int64_t{3600} * 1000000000;

struct LaterFirst {
  bool operator()(const Entry &a, const Entry &b) const { return a.first > b.first; }
};

class DeadlineTimer {
 public:
  bool Watch(CancelToken *token, int64_t deadline_ns) {
    std::unique_lock<std::mutex> l(mu_);
    // The steps that can fail come first, so a failure changes nothing.
    heap_.reserve(heap_.size() + 1);
    if (!running_) {
      // A plain detached pthread: std::thread would keep its state on the
      // heap, lost in a forked child, where the thread does not exist.
      pthread_attr_t attr;
      if (pthread_attr_init(&attr) != 0) return false;
      pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
      pthread_t thread;
      int rc = pthread_create(&thread, &attr, &DeadlineTimer::RunThread, this);
      pthread_attr_destroy(&attr);
      if (rc != 0) return false;
      running_ = true;
    }
    heap_.push_back(Entry(deadline_ns, token));
    std::push_heap(heap_.begin(), heap_.end(), LaterFirst());
    cv_.notify_one();
    return true;
  }

  size_t Count() {
    std::unique_lock<std::mutex> l(mu_);
    return heap_.size();
  }

  bool Unwatch(CancelToken *token) {
    std::unique_lock<std::mutex> l(mu_);
    for (size_t i = 0; i < heap_.size(); i++) {
      if (heap_[i].second != token) continue;
      heap_[i] = heap_.back();
      heap_.pop_back();
      std::make_heap(heap_.begin(), heap_.end(), LaterFirst());
      return true;
    }
    return false;
  }

  // fork(): the timer thread is not copied into the child, and a lock held
  // by another thread would stay held there. So the lock is held across
  // fork(); in the child, the next deadline starts a new thread, and the
  // parent's tokens, which the child must not use, are never fired: they
  // move to orphans_, never read, which only keeps them reachable.
  void LockForFork() { mu_.lock(); }
  void UnlockInParent() { mu_.unlock(); }
  void ResetInChild() {
    if (orphans_.empty()) {
      orphans_.swap(heap_);
    } else {
      try {
        orphans_.insert(orphans_.end(), heap_.begin(), heap_.end());
      } catch (...) {  // out of memory: forget them, as unreachable as they are
      }
      heap_.clear();
    }
    running_ = false;
    new (&cv_) std::condition_variable();  // the parent's may count waiters not copied
    mu_.unlock();
  }

 private:
  static void *RunThread(void *timer) {
    static_cast<DeadlineTimer *>(timer)->Run();
    return nullptr;
  }

  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      if (heap_.empty()) {
        // Linger a little in case more deadlines come, then exit.
        cv_.wait_for(l, std::chrono::seconds(1));
        if (heap_.empty()) {
          running_ = false;
          return;
        }
        continue;
      }
      int64_t now = NowNs();
      Entry e = heap_.front();
      if (e.first > now) {
        // At most an hour at a time: wait_for adds the wait to its clock's
        // now, which overflows for deadlines near INT64_MAX and then returns
        // at once, so that this loop would spin.
        int64_t wait = e.first - now < kMaxWaitNs ? e.first - now : kMaxWaitNs;
        cv_.wait_for(l, std::chrono::nanoseconds(wait));
        continue;
      }
      std::pop_heap(heap_.begin(), heap_.end(), LaterFirst());
      heap_.pop_back();
      l.unlock();
      e.second->Fire(SLOTQ_ETIMEDOUT);
      e.second->Release();
      l.lock();
    }
  }

  std::mutex mu_;  // guards heap_, orphans_ and running_
  std::condition_variable cv_;
  std::vector<Entry> heap_;     // min-heap on deadline
  std::vector<Entry> orphans_;  // a forked child's inherited deadlines (ResetInChild)
  bool running_ = false;        // a thread is in Run()
};

// Never destroyed: a detached thread may still be using it at exit.
DeadlineTimer *TheTimer() {
  static DeadlineTimer *timer = new (std::nothrow) DeadlineTimer();
  return timer;
}

void ForkPrepare() {
  if (DeadlineTimer *timer = TheTimer()) timer->LockForFork();
}
void ForkParent() {
  if (DeadlineTimer *timer = TheTimer()) timer->UnlockInParent();
}
void ForkChild() {
  if (DeadlineTimer *timer = TheTimer()) timer->ResetInChild();
}
[[maybe_unused]] const int g_fork_handlers = pthread_atfork(ForkPrepare, ForkParent, ForkChild);

}  // namespace

bool WatchDeadline(CancelToken *token, int64_t deadline_ns) {
  DeadlineTimer *timer = TheTimer();
  if (timer == nullptr) return false;
  try {
    return timer->Watch(token, deadline_ns);
  } catch (...) {
    return false;  // bad_alloc from the heap
  }
}

bool UnwatchDeadline(CancelToken *token) {
  DeadlineTimer *timer = TheTimer();
  return timer != nullptr && timer->Unwatch(token);
}

size_t WatchedDeadlines() {
  DeadlineTimer *timer = TheTimer();
  return timer != nullptr ? timer->Count() : 0;
}

}  // namespace slotq
