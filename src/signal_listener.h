// Event-driven signal listeners: a callback and/or an eventfd per queue,
// told each time a launch signal becomes pending (slotq_queue_set_signal_notify).
//
// They live in a process-wide table keyed by queue rather than in the queue,
// which keeps every queue small; a queue only carries a "has a listener" bit
// in its signal word, so signalling a queue without one costs nothing more.
#ifndef SLOTQ_SRC_SIGNAL_LISTENER_H
#define SLOTQ_SRC_SIGNAL_LISTENER_H

#include "slotq.h"

namespace slotq {

class Queue;

/// Sets (fn non-null) or removes (fn null) the queue's callback. On return
/// the previous callback is not running and will not run again, unless this
/// is called from inside it. Returns SLOTQ_OK or SLOTQ_ENOMEM.
int SetSignalListener(Queue *q, slotq_notify_fn fn, void *arg);

/// The queue's signal eventfd, created on first use. SLOTQ_OK or SLOTQ_ENOMEM.
int SignalListenerFd(Queue *q, int *fd);

/// Tells the queue's listener that a signal became pending.
void NotifySignalListener(const Queue *q);

/// Drops the queue's listener (its queue is shutting down; nobody can
/// signal it any more).
void DropSignalListener(const Queue *q);

}  // namespace slotq

#endif  // SLOTQ_SRC_SIGNAL_LISTENER_H
