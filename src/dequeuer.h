// Dequeuer: one caller's cancellable wait for slots of one queue
// (slotq_dequeuer_t, the seed's startDequeuer without its goroutine).
#ifndef SLOTQ_SRC_DEQUEUER_H
#define SLOTQ_SRC_DEQUEUER_H

#include <stdint.h>

#include <atomic>
#include <new>

#include "cancel.h"
#include "queue.h"
#include "slotq.h"
#include "wait.h"

namespace slotq {

class Queue;
struct Token;

// Payload of the waiting thread's Parker word.
constexpr uint32_t kParkWaiting = 0;
constexpr uint32_t kParkHanded = 1;   // a token was handed to the dequeuer
constexpr uint32_t kParkStopped = 2;  // the dequeuer was stopped

/// No thread of its own. A dequeuer waits in its queue's list of waiters
/// either for a thread blocked in Next() (parker_) or, armed, to notify an
/// event-driven host (Arm). A slot offered meanwhile is handed to it directly
/// (handed_); Next() gives it to the caller, who then holds it lent (lent_)
/// until it is acquired or goes back to the queue.
class Dequeuer {
 public:
  /// Holds a handle on `q` and a reference on `cancel` (may be null).
  static Dequeuer *Create(Queue *q, CancelToken *cancel);

  int Next(int64_t timeout_ns, CancelToken *cancel, Token **out);
  int Stop();
  void Free();
  void SetNotify(slotq_notify_fn fn, void *arg);
  int Fd(int *fd);
  int Arm();

  /// Delivers one notification counted in notifying_ (no lock held): runs
  /// the host's callback and signals the eventfd, unless Free() was called
  /// meanwhile, and finishes a Free() that waits for it.
  void Notify();

 private:
  friend class Queue;
  Dequeuer(Queue *q, CancelToken *c) : queue_(q), cancel_(c), cancel_watch_(this) {}
  ~Dequeuer() = default;
  // Work decided under the queue's lock and done after it: wakes to deliver
  // and token references to drop (dropping may run the host's release
  // callback). Declare it before the lock so that it runs after the unlock.
  struct AfterUnlock {
    // Left unconstructed until NextWake() hands one out: most calls hand out
    // none, and zeroing four on every call showed in the cycle's profile.
    union Wakes {
      Wakes() {}
      PendingWake at[4];
    } wake;
    Token *drop[4];
    int nwake = 0, ndrop = 0;
    PendingWake *NextWake() { return new (&wake.at[nwake++]) PendingWake(); }
    void Drop(Token *t) {
      if (t != nullptr) drop[ndrop++] = t;
    }
    // Delivers the wakes and drops the references; call it unlocked.
    // Takes back the token in *slot, if any (Queue::GiveBack), noting the
    // wake and the reference to drop that it may leave.
    void GiveBack(Queue *q, Token **slot) SLOTQ_NO_THREAD_SAFETY_ANALYSIS {
      if (*slot != nullptr) Drop(q->GiveBack(slot, NextWake()));
    }
    bool Pending() const { return nwake != 0 || ndrop != 0; }
    void Run() {
      if (Pending()) RunSlow();
    }
    void RunSlow();
    ~AfterUnlock() { Run(); }
  };

  bool Cancelled(CancelToken *extra) const;
  bool OnNotifyingThread() const;
  // What stopping (or, `cancelled`, our token firing) does: leave the
  // waiters, give back the slots we hold, and notify an armed host if
  // `notify`. Requires the queue's lock.
  void StopLocked(AfterUnlock *after, bool notify, bool cancelled);
  bool TryFreeUnshared();
  void FinishFree();
  static void OnCancel(CancelNode *node, int reason);

  Queue *const queue_;
  CancelToken *const cancel_;
  std::atomic<bool> stopped_{false};

  // Registered on cancel_ while the dequeuer may be armed, to notify when it fires.
  struct CancelWatch : CancelNode {
    explicit CancelWatch(Dequeuer *d) : CancelNode(&Dequeuer::OnCancel), deq(d) {}
    Dequeuer *deq;
  };
  CancelWatch cancel_watch_;
  bool watching_cancel_ = false;  // cancel_watch_ is registered (set once, in Create)
  // Set (under the lock) once Arm() or Fd() was called: from then on other
  // threads may reach us through a notification. Read by Free() unlocked.
  std::atomic<bool> shared_{false};

  // Guarded by queue_->mu_ (the analysis cannot name it through queue_):
  Dequeuer *prev_ = nullptr;  // links in queue_->waiters_
  Dequeuer *next_ = nullptr;
  bool enlisted_ = false;
  bool in_next_ = false;           // a thread is inside Next()
  Parker *parker_ = nullptr;       // the thread blocked in Next(), if any
  bool armed_ = false;             // an event-driven host wants one notification
  Token *handed_ = nullptr;        // handed to us, not yet returned by Next() (a reference)
  Token *lent_ = nullptr;          // returned by Next(), not acquired yet (a reference)
  uint32_t notifying_ = 0;         // notifications decided and not finished (see Notify)
  uint32_t running_ = 0;           // of those, the ones running the host's callback now
  bool freeing_ = false;           // Free() was called: notifications not started are dropped
  bool free_deferred_ = false;     // the last notification to finish completes Free()
  Parker *free_waiter_ = nullptr;  // Free() sleeps here until running_ is 0
  slotq_notify_fn notify_fn_ = nullptr;
  void *notify_arg_ = nullptr;
  int fd_ = -1;  // eventfd, or -1
};

}  // namespace slotq

#endif  // SLOTQ_SRC_DEQUEUER_H
