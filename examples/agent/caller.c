/* Callers: a pool of threads, each taking the next call of the plan and
 * running it as the seed's agent's waitHot: wait for a hot container of the
 * call's function, run the call on it, give it back. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "protocol.h"

/* Sleeps until `deadline` on the slotq_now_ns() clock (CLOCK_MONOTONIC). */
static void sleep_until(int64_t deadline) {
  struct timespec ts;
  ts.tv_sec = (time_t)(deadline / 1000000000);
  ts.tv_nsec = (long)(deadline % 1000000000);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

/* The burst's calls start at once; after it, call i starts no earlier than
 * (i - burst) / rate seconds after the first paced call. */
static void pace(agent *ag, unsigned i) {
  if (i < ag->burst_calls) return;
  long long t0 = atomic_load(&ag->steady_start);
  if (t0 == 0) {
    long long now = (long long)slotq_now_ns();
    if (atomic_compare_exchange_strong(&ag->steady_start, &t0, now)) t0 = now;
  }
  sleep_until((int64_t)t0 + (int64_t)(i - ag->burst_calls) * 1000000000 / ag->opt.rate);
}

static void run_call(agent *ag, unsigned i) {
  function *fn = &ag->fns[agent_function_of_call(ag, i)];
  char request[32], expected[96];
  snprintf(request, sizeof(request), "call-%u", i);
  snprintf(expected, sizeof(expected), "%s %s %08x", fn->name, request,
           (unsigned)hotfn_checksum(fn->name, request));
  call_ctx call = {request, expected, 0, 0, ""};

  launcher_enter(fn);
  atomic_fetch_add(&ag->waiting, 1);
  //! [caller]
  slotq_token_t *tok = NULL;
  int slot_err = 0, exec_rc = 0;
  int64_t t0 = slotq_now_ns();
  /* Enters the Waiter state of the function's queue (creating the queue if
   * the manager has none), signals the launcher now and every 200 ms, and
   * acquires the first slot a container offers. */
  int rc =
      slotq_caller_acquire(ag->mgr, &fn->call, AGENT_ACQUIRE_TIMEOUT_NS, 0, NULL, &tok, &slot_err);
  int64_t wait = slotq_now_ns() - t0;
  if (rc == SLOTQ_OK) {
    /* Runs container_exec() on this thread, timed as the Runner state. */
    rc = slotq_token_exec(tok, NULL, &call, &exec_rc);
    /* Gives the slot back: the container's slotq_token_wait_closed() returns. */
    (void)slotq_token_close(tok, NULL);
    slotq_token_release(tok);
  }
  //! [caller]
  atomic_fetch_sub(&ag->waiting, 1);
  launcher_leave(fn);

  size_t w = atomic_fetch_add(&fn->nwaits, 1);
  if (w < fn->planned) fn->waits_ns[w] = (uint64_t)wait;
  atomic_fetch_add(&fn->calls, 1);
  if (rc == SLOTQ_OK) {
    if (call.hit) atomic_fetch_add(&fn->hits, 1);
  } else if (rc == SLOTQ_ECALLBACK && exec_rc == EXEC_MISMATCH) {
    atomic_fetch_add(&fn->mismatches, 1);
    agent_log(ag, "%s: %s: container %u answered \"%s\", expected \"%s\"", fn->name, request,
              call.container, call.got, expected);
  } else {
    atomic_fetch_add(&fn->failed, 1);
    if (rc == SLOTQ_ESLOT) {
      agent_log(ag, "%s: %s failed: its container did not start: %s", fn->name, request,
                container_start_error(slot_err));
    } else if (rc == SLOTQ_ECALLBACK) {
      agent_log(ag, "%s: %s failed: container %u's pipes failed", fn->name, request,
                call.container);
    } else {
      agent_log(ag, "%s: %s failed: %s", fn->name, request, slotq_strerror(rc));
    }
  }
  atomic_fetch_add(&ag->calls_done, 1);
}

void *caller_main(void *arg) {
  agent *ag = (agent *)arg;
  for (;;) {
    unsigned i = atomic_fetch_add(&ag->next_call, 1);
    if (i >= ag->opt.calls) break;
    pace(ag, i);
    run_call(ag, i);
  }
  return NULL;
}
