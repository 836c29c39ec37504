/* The launcher: one thread per function, as the seed's agent's hotLauncher.
 *
 * It waits for the callers' signals, asks the launch policy, and starts a
 * container when the policy says so. After a long inactivity (here twice the
 * idle timeout, short enough to happen during the demo) it deletes the
 * function's queue from the manager, if the queue is idle, and stops. The next call of the function
 * then starts a new launcher, just as a new queue started a new hotLauncher in the seed's agent. */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>

#include "agent.h"

/* Serves one queue of the function until it is deleted (returns 1) or the
 * agent shuts down (returns 0). */
static int launcher_serve(function *fn, slotq_queue_t *q) {
  agent *ag = fn->ag;
  //! [launcher loop]
  for (;;) {
    int action = SLOTQ_LAUNCH_NONE;
    int rc = slotq_launcher_step(ag->mgr, q, &ag->policy, ag->inactivity_ns, ag->shutdown, &action,
                                 NULL);
    if (rc == SLOTQ_ECANCELED) return 0; /* the agent shuts down */
    if (rc != SLOTQ_OK) {                /* e.g. SLOTQ_EOVERLOAD: too many starters */
      agent_log(ag, "%s: launcher: %s", fn->name, slotq_strerror(rc));
      nanosleep(&(struct timespec){0, 10000000}, NULL);
      continue;
    }
    if (action == SLOTQ_LAUNCH_START) {
      /* The step entered the Starter state; the container thread exits it
       * once its process is up (or failed to start). */
      container_start(fn, q);
    } else if (action == SLOTQ_LAUNCH_DELETED) {
      atomic_fetch_add(&fn->queues_deleted, 1);
      return 1; /* idle and removed from the manager: stop */
    }
  }
  //! [launcher loop]
}

static void *launcher_main(void *arg) {
  function *fn = (function *)arg;
  agent *ag = fn->ag;
  for (;;) {
    //! [launcher queue]
    /* The manager hands out queues only with a Waiter count: take the queue
     * the callers use (or create it) and leave the Waiter state at once. */
    slotq_queue_t *q;
    int rc = slotq_mgr_get(ag->mgr, &fn->call, &q, NULL);
    if (rc != SLOTQ_OK) {
      agent_log(ag, "%s: launcher: slotq_mgr_get: %s", fn->name, slotq_strerror(rc));
      atomic_fetch_add(&ag->errors, 1);
      break;
    }
    (void)slotq_queue_exit_state(q, SLOTQ_WAITER);
    //! [launcher queue]
    int deleted = launcher_serve(fn, q);
    slotq_queue_release(q);
    if (!deleted) break;
    /* Deleted. Callers that came meanwhile use a new queue of the same key:
     * serve it; with no callers left, stop. */
    pthread_mutex_lock(&fn->mu);
    if (fn->active_callers == 0) {
      fn->launcher_running = 0;
      pthread_mutex_unlock(&fn->mu);
      return NULL;
    }
    pthread_mutex_unlock(&fn->mu);
  }
  pthread_mutex_lock(&fn->mu);
  fn->launcher_running = 0;
  pthread_mutex_unlock(&fn->mu);
  return NULL;
}

/* A caller is about to call the function: make sure a launcher serves it.
 *
 * slotq_caller_acquire() creates the queue when the manager has none, but
 * does not say so, so the agent counts its active callers instead: a
 * launcher that deleted its queue stops only when no caller is active, and
 * a caller that finds no launcher starts one. */
void launcher_enter(function *fn) {
  pthread_mutex_lock(&fn->mu);
  fn->active_callers++;
  if (!fn->launcher_running) {
    if (fn->launcher_joinable) pthread_join(fn->launcher, NULL); /* it has returned */
    fn->launcher_joinable = 0;
    int err = pthread_create(&fn->launcher, NULL, launcher_main, fn);
    if (err == 0) {
      fn->launcher_running = 1;
      fn->launcher_joinable = 1;
    } else {
      agent_log(fn->ag, "%s: cannot start a launcher thread: %s", fn->name, strerror(err));
      atomic_fetch_add(&fn->ag->errors, 1);
    }
  }
  pthread_mutex_unlock(&fn->mu);
}

void launcher_leave(function *fn) {
  pthread_mutex_lock(&fn->mu);
  fn->active_callers--;
  pthread_mutex_unlock(&fn->mu);
}

/* At shutdown, after the shutdown token fired and every caller returned. */
void launcher_join(function *fn) {
  pthread_mutex_lock(&fn->mu);
  int joinable = fn->launcher_joinable;
  fn->launcher_joinable = 0;
  pthread_mutex_unlock(&fn->mu);
  if (joinable) pthread_join(fn->launcher, NULL);
}
