#include "deadline_timer.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "cancel.h"
#include "clock.h"
#include "slotq.h"

namespace slotq {
namespace {

using Entry = std::pair<int64_t, CancelToken *>;  // (deadline, token holding a reference)

struct LaterFirst {
  bool operator()(const Entry &a, const Entry &b) const { return a.first > b.first; }
};

class DeadlineTimer {
 public:
  bool Watch(CancelToken *token, int64_t deadline_ns) {
    std::unique_lock<std::mutex> l(mu_);
    // Both steps that can throw come first, so a failure changes nothing.
    heap_.reserve(heap_.size() + 1);
    if (!running_) {
      std::thread t([this] { Run(); });
      t.detach();
      running_ = true;
    }
    heap_.push_back(Entry(deadline_ns, token));
    std::push_heap(heap_.begin(), heap_.end(), LaterFirst());
    cv_.notify_one();
    return true;
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

 private:
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
        cv_.wait_for(l, std::chrono::nanoseconds(e.first - now));
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

  std::mutex mu_;  // guards heap_ and running_
  std::condition_variable cv_;
  std::vector<Entry> heap_;  // min-heap on deadline
  bool running_ = false;     // a thread is in Run()
};

// Never destroyed: a detached thread may still be using it at exit.
DeadlineTimer *TheTimer() {
  static DeadlineTimer *timer = new (std::nothrow) DeadlineTimer();
  return timer;
}

}  // namespace

bool WatchDeadline(CancelToken *token, int64_t deadline_ns) {
  DeadlineTimer *timer = TheTimer();
  if (timer == nullptr) return false;
  try {
    return timer->Watch(token, deadline_ns);
  } catch (...) {
    return false;  // bad_alloc from the heap, or system_error from std::thread
  }
}

bool UnwatchDeadline(CancelToken *token) {
  DeadlineTimer *timer = TheTimer();
  return timer != nullptr && timer->Unwatch(token);
}

}  // namespace slotq
