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
  const Queue *queue = nullptr;
  slotq_notify_fn fn = nullptr;
  void *arg = nullptr;
  int fd = -1;
  int running = 0;                    // callbacks in flight, on any thread
  int watchers = 0;                   // threads in Retire waiting for those callbacks
  bool removed = false;               // out of the table; the last callback or watcher frees it
  Listener *next_retiring = nullptr;  // in Table::retiring while removed and in use
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

bool InsideCallbackOf(const Queue *q) {
  for (RunningFrame *f = t_running; f != nullptr; f = f->outer) {
    if (f->listener->queue == q) return true;
  }
  return false;
}

struct Table {
  std::mutex mu;                 // guards map, retiring and every Listener in either
  std::condition_variable idle;  // a Listener's running dropped
  std::unordered_map<const Queue *, Listener *> map;
  // Listeners taken out of the map that a callback or a watcher still uses.
  // Whoever sets or removes a queue's listener from outside its callbacks
  // waits for that queue's (AwaitRetired), not only the one who took it
  // out: "when this returns, the previous callback is not running" holds
  // for every such caller.
  Listener *retiring = nullptr;
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

void Free(Listener *l) {
  if (l->fd >= 0) close(l->fd);
  delete l;
}

// Called once nothing uses a retired listener any more. Requires t.mu.
void Unretire(Table &t, Listener *l) {
  Listener **p = &t.retiring;
  while (*p != l) p = &(*p)->next_retiring;
  *p = l->next_retiring;
  Free(l);
}

// Waits until no callback of a listener of `q` that left the table runs,
// unless this thread is inside one of the queue's callbacks: then it waits
// for nothing more (Retire waited for what it took out), since waiting for
// other retired listeners could wait for ever (two callbacks of the queue,
// each replacing the listener, each waiting for the other's). Every set or
// removal ends with it, so "when this returns, the previous callback is not
// running" holds for every caller outside the callbacks, not only for the
// one who took it out. Requires t.mu, held by `lock`.
void AwaitRetired(Table &t, std::unique_lock<std::mutex> &lock, const Queue *q) {
  if (InsideCallbackOf(q)) return;
  t.idle.wait(lock, [&t, q] {
    for (Listener *l = t.retiring; l != nullptr; l = l->next_retiring) {
      if (l->queue == q) return false;
    }
    return true;
  });
}

// Retires a listener just taken out of the table (so nobody else can reach
// it, and no new callback of it starts): freed now if no callback of it
// runs, else by the last user. From inside one of the queue's callbacks it
// also waits for `l`'s callbacks on other threads (never for this one's),
// as a callback's call always did; the listeners such calls wait for are
// ever newer ones. Requires t.mu, held by `lock`.
void Retire(Table &t, std::unique_lock<std::mutex> &lock, Listener *l) {
  if (l->running == 0) {
    Free(l);
    return;
  }
  l->removed = true;
  l->next_retiring = t.retiring;
  t.retiring = l;
  if (!InsideCallbackOf(l->queue)) return;  // AwaitRetired waits for it
  int here = RunningHere(l);
  l->watchers++;
  t.idle.wait(lock, [l, here] { return l->running == here; });
  l->watchers--;
  if (l->running == 0) {  // only if none runs here: the last user frees it
    Unretire(t, l);
    t.idle.notify_all();
  }
}

// Puts a new listener of `q` in the table (freeing it if that throws).
// Requires t.mu.
void InsertLocked(Table &t, Queue *q, Listener *l) {
  l->queue = q;
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
    if (old != nullptr) {
      t.map.erase(it);
      q->SetHasListener(false);
      Retire(t, lock, old);
    }
    // Even with none in the table: another thread may have just taken it
    // out, or it removed itself on another thread, and it may still run.
    AwaitRetired(t, lock, q);
    return SLOTQ_OK;
  }
  // A new listener replaces the old one (keeping its eventfd), so that the
  // old one can be retired without anybody else reaching it.
  Listener *l = new Listener();  // bad_alloc becomes SLOTQ_ENOMEM at the C boundary
  l->fn = fn;
  l->arg = arg;
  if (old != nullptr) {
    l->queue = q;
    it->second = l;
    l->fd = old->fd;
    old->fd = -1;
    Retire(t, lock, old);
  } else {
    InsertLocked(t, q, l);
  }
  AwaitRetired(t, lock, q);
  // A signal that became pending before the callback was there would never
  // be told (only a new one is), and the launcher would wait for good.
  // Signals from now on see the listener: one just now may be told twice.
  bool pending = q->SignalPending();
  lock.unlock();
  if (pending) NotifySignalListener(q);
  return SLOTQ_OK;
}

int SignalListenerFd(Queue *q, int *fd) {
  Table &t = TheTable();
  std::lock_guard<std::mutex> lock(t.mu);
  auto it = t.map.find(q);
  Listener *l;
  bool inserted = false;
  if (it != t.map.end()) {
    l = it->second;
  } else {
    l = new Listener();
    InsertLocked(t, q, l);
    inserted = true;
  }
  if (l->fd < 0) {
    l->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->fd < 0) {  // out of descriptors or memory: leave nothing behind
      if (inserted) {
        t.map.erase(q);
        q->SetHasListener(false);
        delete l;
      }
      return SLOTQ_ENOMEM;
    }
    // As for a callback: a signal already pending must make it readable.
    // (A signal from now on waits for this lock, then writes to it.)
    if (q->SignalPending()) {
      uint64_t one = 1;
      ssize_t n = write(l->fd, &one, sizeof(one));
      (void)n;  // a new eventfd takes it
    }
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
  if (l->removed && l->running == 0 && l->watchers == 0) Unretire(t, l);
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
  AwaitRetired(t, lock, q);
}

}  // namespace slotq
