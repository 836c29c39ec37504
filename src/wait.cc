#include "wait.h"

#include <unistd.h>

#include <new>

#include "mutex.h"

namespace slotq {
namespace {

// The pool of parkers not owned by a thread. Never freed (see Parker).
Mutex g_pool_mu;
Parker *g_pool_head SLOTQ_GUARDED_BY(g_pool_mu) = nullptr;

struct ThreadParker {
  Parker *parker = nullptr;
  ~ThreadParker() {
    if (parker == nullptr) return;
    MutexLock l(&g_pool_mu);
    parker->next_free = g_pool_head;
    g_pool_head = parker;
  }
};

thread_local ThreadParker t_parker;

int NumCpus() {
  static const int n = [] {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? static_cast<int>(c) : 1;
  }();
  return n;
}

std::atomic<int> g_spinners{0};

}  // namespace

Parker *ThisThreadParker() {
  ThreadParker &tp = t_parker;
  if (tp.parker != nullptr) return tp.parker;
  {
    MutexLock l(&g_pool_mu);
    if (g_pool_head != nullptr) {
      tp.parker = g_pool_head;
      g_pool_head = g_pool_head->next_free;
      tp.parker->next_free = nullptr;
      return tp.parker;
    }
  }
  tp.parker = new (std::nothrow) Parker();
  return tp.parker;
}

// Spinning only pays when another CPU can run the thread that will wake us,
// so on one CPU nobody spins, and at most half the CPUs spin at once.
int64_t SpinPolicy::SpinNs() { return 4000; }

bool SpinPolicy::TryBeginSpin() {
  int max = NumCpus() / 2;
  if (max < 1 || NumCpus() < 2) return false;
  int n = g_spinners.load(std::memory_order_relaxed);
  while (n < max) {
    if (g_spinners.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

void SpinPolicy::EndSpin() { g_spinners.fetch_sub(1, std::memory_order_relaxed); }

}  // namespace slotq
