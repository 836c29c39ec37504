/* slotq-agent: a small serverless function agent built on libslotq's host
 * loops. Shared declarations of its parts:
 *
 *   agent.c      flags, the call plan, start-up, the progress line, shutdown
 *   launcher.c   one launcher thread per function (slotq_launcher_step)
 *   container.c  one thread per container, running a slotq-hotfn child
 *                (slotq_container_offer, the slot's exec callback)
 *   caller.c     the pool of caller threads (slotq_caller_acquire)
 *   report.c     the per-function table and the metrics text
 */
#ifndef SLOTQ_AGENT_AGENT_H
#define SLOTQ_AGENT_AGENT_H

#include <pthread.h>
#include <slotq.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* How long a caller waits for a container before the call fails. */
#define AGENT_ACQUIRE_TIMEOUT_NS ((int64_t)30 * 1000000000)
/* How long a container may take to write its "ready" line. */
#define AGENT_START_TIMEOUT_MS 10000

typedef struct agent agent;
typedef struct function function;
typedef struct container container;

/* The command line. */
typedef struct agent_opts {
  unsigned functions;       /* --functions */
  unsigned callers;         /* --callers */
  unsigned calls;           /* --calls */
  unsigned burst_pct;       /* --burst: share of the calls sent as fast as possible */
  unsigned rate;            /* --rate: calls per second after the burst */
  unsigned idle_timeout_ms; /* --idle-timeout */
  unsigned work_ms;         /* --work-ms */
  unsigned start_ms;        /* --start-ms */
  int policy;               /* --policy: a slotq_policy_kind */
  const char *fn_path;      /* --fn-path, or NULL: next to this program */
} agent_opts;

/* One container: a slotq-hotfn child process and the thread that runs it. */
struct container {
  function *fn;
  container *next; /* the function's list, under fn->mu */
  unsigned id;     /* 1, 2, ... within its function */
  pthread_t thread;
  slotq_queue_t *queue; /* the container thread's reference */
  pid_t pid;
  int to_child;     /* the child's stdin */
  FILE *from_child; /* the child's stdout */
  int start_error;  /* 0, an errno value or START_NOT_READY */
  /* Used only by whoever holds the slot: the exec callback (on a caller's
   * thread) while a caller holds it, the container thread otherwise. The
   * library orders the two (close happens before wait_closed returns). */
  uint64_t served; /* calls served so far */
  int broken;      /* the child's pipes failed: do not offer again */
  char *line;      /* getline buffer for the child's responses */
  size_t line_cap;
};

/* One function: its call (hence its slot queue), launcher and statistics. */
struct function {
  agent *ag;
  unsigned index;
  char name[24];
  char path[32];
  slotq_kv config[1];
  slotq_call call; /* identifies the function's queue in the manager */

  pthread_mutex_t mu;      /* guards the fields up to `containers` */
  int launcher_running;    /* a launcher thread serves the function now */
  int launcher_joinable;   /* `launcher` has not been joined yet */
  pthread_t launcher;      /* the latest launcher thread */
  unsigned active_callers; /* callers between launcher_enter and _leave */
  unsigned next_container; /* the last container id given */
  container *containers;   /* every container ever started, newest first */

  uint64_t *waits_ns; /* the wait of each call, for the percentiles */
  size_t planned;     /* calls the plan gives this function */
  atomic_size_t nwaits;
  atomic_uint calls, hits, mismatches, failed;
  atomic_uint started, start_failed, ejected_idle, stopped, queues_deleted;
  atomic_uint running; /* containers up now */
};

/* The whole agent. */
struct agent {
  agent_opts opt;
  slotq_mgr_t *mgr;
  slotq_cancel_t *shutdown; /* fired once every call is done */
  slotq_policy policy;
  function *fns;
  char fn_path[4096];
  char start_arg[16], work_arg[16];
  int64_t idle_timeout_ns, inactivity_ns;
  unsigned burst_calls; /* calls [0, burst_calls) are the burst */
  int64_t t_start, t_end;

  atomic_uint next_call; /* the next call index a caller takes */
  atomic_uint calls_done;
  atomic_uint waiting;       /* callers inside slotq_caller_acquire now */
  atomic_llong steady_start; /* when the first paced call was taken; 0 before */
  atomic_uint errors;        /* container failures outside calls */
  pthread_mutex_t log_mu;    /* one message at a time on stderr */
  int progress;              /* stderr is a terminal: draw the progress line */
};

/* agent.c */
unsigned agent_function_of_call(const agent *ag, unsigned call);
void agent_log(agent *ag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* launcher.c */
void launcher_enter(function *fn);
void launcher_leave(function *fn);
void launcher_join(function *fn);

/* container.c */
enum { START_NOT_READY = -1 }; /* a start error besides errno values */
void container_start(function *fn, slotq_queue_t *queue);
const char *container_start_error(int err);
void container_join_all(function *fn);
void container_free_all(function *fn);

/* The call a caller hands to slotq_token_exec() (the exec callback's call_arg). */
typedef struct call_ctx {
  const char *request;  /* the request line, without its newline */
  const char *expected; /* the response it must get back */
  unsigned container;   /* out: the id of the container that served it */
  int hit;              /* out: that container had served a call before */
  char got[96];         /* out: on a mismatch, the response it got */
} call_ctx;

/* exec callback results, besides 0. */
enum { EXEC_MISMATCH = 1, EXEC_IO = 2 };

/* caller.c */
void *caller_main(void *arg);

/* report.c */
void report_print(agent *ag, FILE *out);
int report_failed(const agent *ag);

#endif /* SLOTQ_AGENT_AGENT_H */
