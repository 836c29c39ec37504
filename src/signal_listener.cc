#include "signal_listener.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <new>
#include <unordered_map>

#include "queue.h"

namespace slotq {
namespace {

struct Listener {
  slotq_notify_fn fn = nullptr;
  void *arg = nullptr;
  int fd = -1;
  int running = 0;       // callbacks in flight, on any thread
  bool removed = false;  // out of the table; the last callback frees it
};

// The listeners whose callback this thread is running (innermost first), so
// that a callback may replace or remove its own listener without waiting
// for itself.
struct RunningFrame {
  const Listener *listener;
  RunningFrame *outer;
};
thread_local RunningFrame *t_running = nullptr;

int RunningHere(const Listener *l) {
  int n = 0;
  for (RunningFrame *f = t_running; f != nullptr; f = f->outer) n += f->listener == l;
  return n;
}

struct Table {
  std::mutex mu;                 // guards map and every Listener in it
  std::condition_variable idle;  // a Listener's running dropped to zero
  std::unordered_map<const Queue *, Listener *> map;
};

// Never destroyed: queues may be released during static destruction.
Table &TheTable() {
  static Table *table = new Table();
  return *table;
}

// fork(): hold the table's lock across it (see queue_arena.cc). The child's
// condition variable starts afresh, since the parent's may count waiters
// that were not copied; the parent's listeners stay, unused, because the
// child must not use the parent's queues.
void ForkPrepare() { TheTable().mu.lock(); }
void ForkParent() { TheTable().mu.unlock(); }
void ForkChild() {
  Table &t = TheTable();
  new (&t.idle) std::condition_variable();
  t.mu.unlock();
}
[[maybe_unused]] const int g_fork_handlers = pthread_atfork(ForkPrepare, ForkParent, ForkChild);

// Frees a listener already taken out of the table (so nobody else can
// reach it, and no new callback of it starts), once the callbacks still
// running on other threads returned. If one runs on this thread (a
// callback replacing or removing its own listener), that one frees it when
// it returns. Requires t.mu, held by `lock`.
void Retire(Table &t, std::unique_lock<std::mutex> &lock, Listener *l) {
  int here = RunningHere(l);
  t.idle.wait(lock, [l, here] { return l->running == here; });
  if (here != 0) {
    l->removed = true;
    return;
  }
  if (l->fd >= 0) close(l->fd);
  delete l;
}

// Puts a new listener of `q` in the table (freeing it if that throws).
// Requires t.mu.
void InsertLocked(Table &t, Queue *q, Listener *l) {
  try {
    t.map.emplace(q, l);
  } catch (...) {
    delete l;
    throw;
  }
  q->SetHasListener(true);
}

}  // namespace

int SetSignalListener(Queue *q, slotq_notify_fn fn, void *arg) {
  Table &t = TheTable();
  std::unique_lock<std::mutex> lock(t.mu);
  auto it = t.map.find(q);
  Listener *old = it != t.map.end() ? it->second : nullptr;
  if (fn == nullptr) {
    if (old == nullptr) return SLOTQ_OK;
    t.map.erase(it);
    q->SetHasListener(false);
    Retire(t, lock, old);
    return SLOTQ_OK;
  }
  // A new listener replaces the old one (keeping its eventfd), so that the
  // old one can be retired without anybody else reaching it.
  Listener *l = new Listener();  // bad_alloc becomes SLOTQ_ENOMEM at the C boundary
  l->fn = fn;
  l->arg = arg;
  if (old != nullptr) {
    it->second = l;
    l->fd = old->fd;
    old->fd = -1;
    Retire(t, lock, old);
    return SLOTQ_OK;
  }
  InsertLocked(t, q, l);
  return SLOTQ_OK;
}

int SignalListenerFd(Queue *q, int *fd) {
  Table &t = TheTable();
  std::lock_guard<std::mutex> lock(t.mu);
  auto it = t.map.find(q);
  Listener *l;
  if (it != t.map.end()) {
    l = it->second;
  } else {
    l = new Listener();
    InsertLocked(t, q, l);
  }
  if (l->fd < 0) {
    l->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->fd < 0) return SLOTQ_ENOMEM;
  }
  *fd = l->fd;
  return SLOTQ_OK;
}

void NotifySignalListener(const Queue *q) {
  Table &t = TheTable();
  std::unique_lock<std::mutex> lock(t.mu);
  auto it = t.map.find(q);
  if (it == t.map.end()) return;
  Listener *l = it->second;
  slotq_notify_fn fn = l->fn;
  void *arg = l->arg;
  if (l->fd >= 0) {
    uint64_t one = 1;
    ssize_t n = write(l->fd, &one, sizeof(one));
    (void)n;  // EAGAIN only when the counter is saturated: still readable
  }
  if (fn == nullptr) return;
  l->running++;
  RunningFrame frame{l, t_running};
  t_running = &frame;
  lock.unlock();
  fn(arg);
  lock.lock();
  t_running = frame.outer;
  l->running--;
  if (l->removed && l->running == 0) {
    if (l->fd >= 0) close(l->fd);
    delete l;
  }
  t.idle.notify_all();
}

void DropSignalListener(const Queue *q) {
  Table &t = TheTable();
  std::unique_lock<std::mutex> lock(t.mu);
  auto it = t.map.find(q);
  if (it == t.map.end()) return;
  Listener *l = it->second;
  t.map.erase(it);
  Retire(t, lock, l);
}

}  // namespace slotq
