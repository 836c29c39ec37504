#include "wait.h"

#include <pthread.h>
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

// fork(): hold the pool's lock across it (see queue_arena.cc). In the child,
// threads that were spinning in the parent do not exist: nobody spins.
void ForkPrepare() SLOTQ_NO_THREAD_SAFETY_ANALYSIS { g_pool_mu.Lock(); }
void ForkParent() SLOTQ_NO_THREAD_SAFETY_ANALYSIS { g_pool_mu.Unlock(); }
void ForkChild() SLOTQ_NO_THREAD_SAFETY_ANALYSIS {
  g_spinners.store(0, std::memory_order_relaxed);
  g_pool_mu.Unlock();
}
[[maybe_unused]] const int g_fork_handlers = pthread_atfork(ForkPrepare, ForkParent, ForkChild);

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

namespace {

constexpr int64_t kInitialBudgetNs = 2000;
constexpr int64_t kMaxBudgetNs = 20000;
constexpr int64_t kProbeNs = 1000;  // a spin now and then when the budget is zero
constexpr unsigned kProbeEvery = 64;

// One budget per WaitKind; each starts at kInitialBudgetNs by itself, so a
// new kind needs no initializer here.
struct Budget {
  std::atomic<int64_t> ns{kInitialBudgetNs};
};
Budget g_budget[static_cast<int>(WaitKind::kCount)];
std::atomic<unsigned> g_probe_tick{0};

}  // namespace

int64_t SpinPolicy::BudgetNs(WaitKind kind) {
  int64_t b = g_budget[static_cast<int>(kind)].ns.load(std::memory_order_relaxed);
  if (b > 0) return b;
  return g_probe_tick.fetch_add(1, std::memory_order_relaxed) % kProbeEvery == 0 ? kProbeNs : 0;
}

void SpinPolicy::Report(WaitKind kind, bool succeeded) {
  // Races between threads only blur the estimate; no lock needed.
  std::atomic<int64_t> &budget = g_budget[static_cast<int>(kind)].ns;
  int64_t b = budget.load(std::memory_order_relaxed);
  if (succeeded) {
    b = b < kInitialBudgetNs ? kInitialBudgetNs : b + b / 2;
    if (b > kMaxBudgetNs) b = kMaxBudgetNs;
  } else {
    b /= 2;
    if (b < 250) b = 0;
  }
  budget.store(b, std::memory_order_relaxed);
}

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
