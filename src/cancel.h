// CancelToken: the library's cancellation token (slotq_cancel_t).
#ifndef SLOTQ_SRC_CANCEL_H
#define SLOTQ_SRC_CANCEL_H

#include <pthread.h>
#include <stdint.h>

#include <atomic>

#include "annotations.h"
#include "mutex.h"

namespace slotq {

class CancelToken;

/// A callback registered on a CancelToken. Embedded in whatever owns it (a
/// blocking call's stack frame, a child token, a user registration).
struct CancelNode {
  using Fn = void (*)(CancelNode *self, int reason);

  explicit CancelNode(Fn f) : fn(f) {}

  Fn fn;
  // All fields below are guarded by the owning token's mu_.
  CancelNode *prev = nullptr;
  CancelNode *next = nullptr;
  bool in_list = false;
  bool started = false;      // fn was called (or is running)
  bool running = false;      // fn is running on thread `runner` (and did not call EndRun)
  bool needs_timer = false;  // registered with watch_deadline (counted in timer_watchers_)
  pthread_t runner{};
  // Set while fn runs: lets fn unregister itself, or end its run early
  // (EndRun), telling the running thread not to touch the node again.
  bool *destroyed = nullptr;
  std::atomic<uint32_t> done{0};  // kDone*: whether fn returned or called EndRun (futex word)
};

constexpr uint32_t kDoneNo = 0;      // fn not returned
constexpr uint32_t kDoneYes = 1;     // fn returned (or called EndRun)
constexpr uint32_t kDoneWaited = 2;  // fn not returned, a thread sleeps until it does

/// Fires once, explicitly (Cancel), through its parent, or at its deadline.
/// Callbacks run on the firing thread, one at a time, without mu_ held.
class CancelToken {
 public:
  /// A new token with one reference; nullptr when out of memory. The child
  /// inherits the parent's deadline if it is earlier than `deadline_ns`.
  static CancelToken *Create(CancelToken *parent, int64_t deadline_ns);

  void Retain() { refs_.fetch_add(1, std::memory_order_relaxed); }
  /// Retain, unless the last reference is already gone (then false).
  bool TryRetain();
  void Release();

  /// SLOTQ_OK while live, SLOTQ_ECANCELED once cancelled (itself or a parent),
  /// SLOTQ_ETIMEDOUT once its deadline passed.
  int Reason() const;
  bool Fired() const { return Reason() != 0; }

  /// The absolute deadline (kNoDeadline for none), already including the parents'.
  int64_t deadline() const { return deadline_; }

  /// Fires with SLOTQ_ECANCELED (or SLOTQ_ETIMEDOUT if the deadline passed first).
  void Cancel();

  /// Fires with `reason` if not fired yet (SLOTQ_ECANCELED becomes
  /// SLOTQ_ETIMEDOUT if the deadline passed), and runs the callbacks.
  void Fire(int reason);

  /// Adds `node`. If the token already fired, runs node->fn on this thread
  /// and returns false. `watch_deadline` asks the timer thread to fire the
  /// token at its deadline (needed only for callbacks nobody else times).
  bool Register(CancelNode *node, bool watch_deadline);

  /// Adds `node` if the token has not fired and its deadline has not
  /// passed; otherwise returns false and runs nothing (neither node->fn nor
  /// the token's other callbacks, which a passed deadline would fire in
  /// Register). For waits, which must not run host code once they have
  /// published the thread's parker: they see the token fired themselves.
  bool RegisterQuiet(CancelNode *node);

  /// Removes `node`. If its fn already started on another thread, waits for it
  /// to return (or to call EndRun); if it is running on this thread (fn
  /// unregistering itself), returns at once. Returns true if fn started.
  bool Unregister(CancelNode *node);

  /// Called by node->fn, running on this token for `node`, once it is done
  /// with the node and whatever owns it: from then on fn counts as returned,
  /// so Unregister no longer waits for it and the owner may free the node
  /// while fn goes on with work that needs neither (delivering wakes, which
  /// may run host code that waits for the thread in Unregister). fn must not
  /// touch `node` afterwards, nor call this after unregistering it.
  void EndRun(CancelNode *node) SLOTQ_EXCLUDES(mu_);

 private:
  CancelToken(CancelToken *parent, int64_t deadline_ns);
  ~CancelToken() = default;
  static void PropagateFromParent(CancelNode *node, int reason);
  // Fire, with `reason` as it is.
  void FireWith(int reason);
  // Appends `node` unless the token fired (then false).
  bool Append(CancelNode *node, bool watch_deadline) SLOTQ_EXCLUDES(mu_);
  // Leaves the parent and frees the token (its last reference is gone).
  void Destroy();
  // Takes the token out of the deadline timer (nothing needs it there any
  // more), dropping the timer's reference. Called without mu_.
  void StopWatching();
  // Marks `n` started and running on this thread. Requires mu_.
  void BeginRun(CancelNode *n, bool *destroyed) SLOTQ_REQUIRES(mu_);
  // Runs n->fn without mu_, then (unless fn unregistered n or ended its run
  // early) marks it done.
  void RunNode(CancelNode *n, int reason, bool *destroyed) SLOTQ_EXCLUDES(mu_);
  // Marks n's fn returned, waking the threads waiting in Unregister, and
  // tells RunNode to leave n alone. Requires mu_.
  void MarkReturned(CancelNode *n) SLOTQ_REQUIRES(mu_);

  std::atomic<uint32_t> refs_{1};
  std::atomic<int> reason_{0};  // 0 until fired, then the reason, never changes again
  const int64_t deadline_;
  // Registered on parent_ to follow its cancellation.
  struct ParentNode : CancelNode {
    explicit ParentNode(CancelToken *c) : CancelNode(&CancelToken::PropagateFromParent), child(c) {}
    CancelToken *child;
  };
  CancelToken *const parent_;  // holds a reference; may be null
  ParentNode parent_node_;

  Mutex mu_;  // guards the callback list and every node's bookkeeping fields
  CancelNode *head_ SLOTQ_GUARDED_BY(mu_) = nullptr;  // registration order, oldest first
  CancelNode *tail_ SLOTQ_GUARDED_BY(mu_) = nullptr;
  bool watched_ SLOTQ_GUARDED_BY(mu_) = false;    // in the deadline timer (which holds a reference)
  int timer_watchers_ SLOTQ_GUARDED_BY(mu_) = 0;  // listed nodes that need the timer
  bool firing_ SLOTQ_GUARDED_BY(mu_) = false;     // Fire() walks the list, on firing_thread_
  pthread_t firing_thread_ SLOTQ_GUARDED_BY(mu_){};
  bool destroy_when_fired_ SLOTQ_GUARDED_BY(mu_) = false;
};

}  // namespace slotq

#endif  // SLOTQ_SRC_CANCEL_H
