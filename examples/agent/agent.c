/* slotq-agent: the demo. A small serverless function agent on libslotq's host
 * loops, running real slotq-hotfn processes as its containers. See --help,
 * agent.h for its parts and docs/guide-host.md for a walk through them. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static const char usage_text[] =
    "usage: slotq-agent [FLAGS]\n"
    "\n"
    "A small serverless function agent built on libslotq. It runs --functions\n"
    "functions whose containers are real slotq-hotfn processes (each answers a\n"
    "request line with a response line), and sends them --calls calls from\n"
    "--callers caller threads: first a burst (--burst percent of the calls, as\n"
    "fast as the callers go), then a steady phase paced at --rate calls per\n"
    "second, in which the last function (when there are two or more) gets no\n"
    "calls at all.\n"
    "\n"
    "Each function has a launcher thread (slotq_launcher_step) that starts a\n"
    "container when the launch policy says so. Each container has a thread\n"
    "(slotq_container_offer) that offers the container's slot, lets the caller\n"
    "that takes it run a call, offers it again, and stops the process once the\n"
    "slot stayed idle for --idle-timeout. Each call (slotq_caller_acquire, then\n"
    "slotq_token_exec) writes a request to a container and checks that the\n"
    "response matches it. A launcher deletes its function's queue after twice\n"
    "the idle timeout without calls.\n"
    "\n"
    "What it shows: containers launched for the burst, reused call after call\n"
    "(a high hot-hit ratio), the surplus ejected idle during the steady phase,\n"
    "and the quiet function's containers ejected and its queue deleted.\n"
    "\n"
    "Flags (--flag VALUE or --flag=VALUE):\n"
    "  --functions N      functions, each its own slot queue, 1-64 (default 3)\n"
    "  --callers N        caller threads, 1-1024 (default 12)\n"
    "  --calls N          calls in all, 1-10000000 (default 1500)\n"
    "  --burst PCT        share of the calls sent as a burst, 0-100 (default 40)\n"
    "  --rate N           calls per second after the burst, 1-1000000 (default 150)\n"
    "  --idle-timeout MS  a container whose slot stays idle this long is ejected\n"
    "                     and stopped, 1-3600000 (default 500)\n"
    "  --work-ms MS       simulated work per call in slotq-hotfn, 0-60000 (default 5)\n"
    "  --start-ms MS      simulated start-up time of a container, 0-60000 (default 50)\n"
    "  --policy P         launch policy (default idle-aware):\n"
    "                     idle-aware: idle slots absorb waiters first, and starting\n"
    "                     containers count against the waiters they will serve\n"
    "                     seed: the Go seed's isNewContainerNeeded, which starts a\n"
    "                     container whenever a caller waits and none runs or\n"
    "                     starts, idle or not (compare the \"started\" column)\n"
    "  --fn-path PATH     the slotq-hotfn program (default: the one next to\n"
    "                     slotq-agent)\n"
    "  --help             this text\n"
    "\n"
    "While it runs, a progress line is drawn on stderr if stderr is a terminal.\n"
    "At the end it prints a table, one row per function:\n"
    "  calls       calls sent to the function\n"
    "  started     containers started (slotq-hotfn processes that came up)\n"
    "  hot-hit     hits / calls, where a hit is a call served by a container that\n"
    "              had already served an earlier call (each container's first\n"
    "              call is a miss, every later one a hit)\n"
    "  wait-p50    median and 99th percentile (nearest rank) of the time the\n"
    "  wait-p99    calls spent in slotq_caller_acquire, in milliseconds\n"
    "  ejected     containers ejected after --idle-timeout without a call\n"
    "  stopped     containers still up at the end, stopped at shutdown\n"
    "  deleted     times the launcher deleted the function's queue\n"
    "  errors      calls that failed (no container in time, a container that\n"
    "              did not start or whose pipes broke) or whose response did not\n"
    "              match their request; the result line splits them into\n"
    "              mismatches and failed calls\n"
    "then the text of slotq_mgr_metrics (Prometheus format) for the queues the\n"
    "manager still holds.\n"
    "\n"
    "Exit status: 0 if every call got its matching response and every container\n"
    "started and stopped cleanly; 1 otherwise; 2 for a bad flag.\n";

/* ---- flags -------------------------------------------------------------- */

static void bad_flag(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad_flag(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("slotq-agent: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs(" (see --help)\n", stderr);
  va_end(ap);
  exit(2);
}

static unsigned parse_uint(const char *flag, const char *text, unsigned lo, unsigned hi) {
  char *end;
  const char *digits = text[0] == '-' ? text + 1 : text; /* "-3" is out of range */
  errno = 0;
  unsigned long v = strtoul(digits, &end, 10);
  if (digits[0] < '0' || digits[0] > '9' || *end != '\0') {
    bad_flag("%s: '%s' is not a number", flag, text);
  }
  if (errno == ERANGE || text != digits || v < lo || v > hi) {
    bad_flag("%s: %s is out of range (%u-%u)", flag, text, lo, hi);
  }
  return (unsigned)v;
}

static void parse_flags(int argc, char **argv, agent_opts *o) {
  static const char *const names[] = {"--functions", "--callers",      "--calls",   "--burst",
                                      "--rate",      "--idle-timeout", "--work-ms", "--start-ms",
                                      "--policy",    "--fn-path"};
  o->functions = 3;
  o->callers = 12;
  o->calls = 1500;
  o->burst_pct = 40;
  o->rate = 150;
  o->idle_timeout_ms = 500;
  o->work_ms = 5;
  o->start_ms = 50;
  o->policy = SLOTQ_POLICY_IDLE_AWARE;
  o->fn_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(usage_text, stdout);
      exit(0);
    }
    size_t k, nlen = 0;
    const char *value = NULL;
    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
      nlen = strlen(names[k]);
      if (strncmp(arg, names[k], nlen) == 0 && (arg[nlen] == '\0' || arg[nlen] == '=')) break;
    }
    if (k == sizeof(names) / sizeof(names[0])) bad_flag("unknown flag '%s'", arg);
    if (arg[nlen] == '=') {
      value = arg + nlen + 1;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      bad_flag("%s needs a value", names[k]);
    }
    const char *name = names[k];
    switch (k) {
      case 0:
        o->functions = parse_uint(name, value, 1, 64);
        break;
      case 1:
        o->callers = parse_uint(name, value, 1, 1024);
        break;
      case 2:
        o->calls = parse_uint(name, value, 1, 10000000);
        break;
      case 3:
        o->burst_pct = parse_uint(name, value, 0, 100);
        break;
      case 4:
        o->rate = parse_uint(name, value, 1, 1000000);
        break;
      case 5:
        o->idle_timeout_ms = parse_uint(name, value, 1, 3600000);
        break;
      case 6:
        o->work_ms = parse_uint(name, value, 0, 60000);
        break;
      case 7:
        o->start_ms = parse_uint(name, value, 0, 60000);
        break;
      case 8:
        if (strcmp(value, "seed") == 0) {
          o->policy = SLOTQ_POLICY_SEED;
        } else if (strcmp(value, "idle-aware") == 0) {
          o->policy = SLOTQ_POLICY_IDLE_AWARE;
        } else {
          bad_flag("--policy: '%s' is neither 'seed' nor 'idle-aware'", value);
        }
        break;
      default:
        if (value[0] == '\0') bad_flag("--fn-path: empty path");
        o->fn_path = value;
        break;
    }
  }
}

/* The slotq-hotfn program: --fn-path, or next to this program. */
static void find_fn_path(agent *ag) {
  if (ag->opt.fn_path != NULL) {
    if (strlen(ag->opt.fn_path) >= sizeof(ag->fn_path)) bad_flag("--fn-path: path too long");
    strcpy(ag->fn_path, ag->opt.fn_path);
    if (access(ag->fn_path, X_OK) != 0) {
      bad_flag("--fn-path: cannot execute '%s': %s", ag->fn_path, strerror(errno));
    }
    return;
  }
  char self[sizeof(ag->fn_path) - 16];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0 || (size_t)n >= sizeof(self) - 1)
    bad_flag("cannot read /proc/self/exe; use --fn-path");
  self[n] = '\0';
  snprintf(ag->fn_path, sizeof(ag->fn_path), "%s/slotq-hotfn", dirname(self));
  if (access(ag->fn_path, X_OK) != 0) {
    bad_flag("no slotq-hotfn next to slotq-agent ('%s': %s); use --fn-path", ag->fn_path,
             strerror(errno));
  }
}

/* ---- the plan, logging -------------------------------------------------- */

/* The burst goes round-robin over every function; the steady phase over all
 * but the last, which goes quiet (with two functions or more). */
unsigned agent_function_of_call(const agent *ag, unsigned call) {
  unsigned n = ag->opt.functions;
  if (call >= ag->burst_calls && n > 1) n--;
  return call % n;
}

enum { LOG_MAX = 20 };
static unsigned log_count;

void agent_log(agent *ag, const char *fmt, ...) {
  pthread_mutex_lock(&ag->log_mu);
  if (++log_count <= LOG_MAX) {
    va_list ap;
    va_start(ap, fmt);
    if (ag->progress) fputs("\r\033[K", stderr);
    fputs("slotq-agent: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    if (log_count == LOG_MAX) fputs("slotq-agent: (further messages suppressed)\n", stderr);
    va_end(ap);
  }
  pthread_mutex_unlock(&ag->log_mu);
}

static void progress_line(agent *ag) {
  unsigned up = 0, started = 0, ejected = 0;
  for (unsigned f = 0; f < ag->opt.functions; f++) {
    up += atomic_load(&ag->fns[f].running);
    started += atomic_load(&ag->fns[f].started);
    ejected += atomic_load(&ag->fns[f].ejected_idle);
  }
  size_t queues = 0;
  (void)slotq_mgr_count(ag->mgr, &queues);
  char line[256];
  snprintf(line, sizeof(line),
           "%.1fs calls %u/%u, waiting %u, containers %u (%u started, %u ejected), queues %zu",
           (double)(slotq_now_ns() - ag->t_start) / 1e9, atomic_load(&ag->calls_done),
           ag->opt.calls, atomic_load(&ag->waiting), up, started, ejected, queues);
  struct winsize ws; /* a line longer than the terminal would not redraw in place */
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && ws.ws_col <= sizeof(line)) {
    line[ws.ws_col - 1] = '\0';
  }
  pthread_mutex_lock(&ag->log_mu);
  fprintf(stderr, "\r\033[K%s", line);
  fflush(stderr);
  pthread_mutex_unlock(&ag->log_mu);
}

/* Redraws the progress line five times a second until told to stop. */
static pthread_mutex_t progress_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progress_cv = PTHREAD_COND_INITIALIZER;
static int progress_stop;

static void *progress_main(void *arg) {
  agent *ag = (agent *)arg;
  struct timespec next;
  clock_gettime(CLOCK_REALTIME, &next);
  pthread_mutex_lock(&progress_mu);
  while (!progress_stop) {
    pthread_mutex_unlock(&progress_mu);
    progress_line(ag);
    next.tv_nsec += 200000000;
    if (next.tv_nsec >= 1000000000) {
      next.tv_sec++;
      next.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&progress_mu);
    while (!progress_stop && pthread_cond_timedwait(&progress_cv, &progress_mu, &next) == 0) {
    }
  }
  pthread_mutex_unlock(&progress_mu);
  progress_line(ag); /* the final figures */
  return NULL;
}

/* ---- main --------------------------------------------------------------- */

static int setup_functions(agent *ag) {
  unsigned n = ag->opt.functions;
  ag->fns = (function *)calloc(n, sizeof(function));
  if (ag->fns == NULL) return -1;
  for (unsigned i = 0; i < ag->opt.calls; i++) ag->fns[agent_function_of_call(ag, i)].planned++;
  for (unsigned f = 0; f < n; f++) {
    function *fn = &ag->fns[f];
    fn->ag = ag;
    fn->index = f;
    snprintf(fn->name, sizeof(fn->name), "fn-%u", f);
    snprintf(fn->path, sizeof(fn->path), "/%s", fn->name);
    pthread_mutex_init(&fn->mu, NULL);
    fn->waits_ns = (uint64_t *)calloc(fn->planned + 1, sizeof(uint64_t));
    if (fn->waits_ns == NULL) return -1;
    //! [function call]
    /* Everything in the call goes into the slot key: calls that differ in
     * any field (here, the path and the config) use different queues. */
    fn->config[0].key = (slotq_str)SLOTQ_STR("FN_NAME");
    fn->config[0].value = (slotq_str){fn->name, strlen(fn->name)};
    fn->call.app_name = (slotq_str)SLOTQ_STR("slotq-agent");
    fn->call.path = (slotq_str){fn->path, strlen(fn->path)};
    fn->call.image = (slotq_str)SLOTQ_STR("slotq-hotfn");
    fn->call.format = (slotq_str)SLOTQ_STR("line");
    fn->call.timeout = 30;
    fn->call.idle_timeout = (int32_t)((ag->opt.idle_timeout_ms + 999) / 1000);
    fn->call.memory = 128;
    fn->call.config = fn->config;
    fn->call.config_len = 1;
    //! [function call]
  }
  return 0;
}

int main(int argc, char **argv) {
  static agent ag; /* zeroed */
  parse_flags(argc, argv, &ag.opt);
  find_fn_path(&ag);
  signal(SIGPIPE, SIG_IGN); /* a dead child's pipe gives EPIPE instead */

  ag.policy.kind = ag.opt.policy;
  ag.idle_timeout_ns = (int64_t)ag.opt.idle_timeout_ms * 1000000;
  ag.inactivity_ns = 2 * ag.idle_timeout_ns;
  ag.burst_calls = (unsigned)((unsigned long long)ag.opt.calls * ag.opt.burst_pct / 100);
  snprintf(ag.start_arg, sizeof(ag.start_arg), "%u", ag.opt.start_ms);
  snprintf(ag.work_arg, sizeof(ag.work_arg), "%u", ag.opt.work_ms);
  ag.progress = isatty(STDERR_FILENO);
  pthread_mutex_init(&ag.log_mu, NULL);

  int rc = slotq_mgr_create(&ag.mgr);
  if (rc == SLOTQ_OK) rc = slotq_cancel_create(&ag.shutdown);
  if (rc != SLOTQ_OK || setup_functions(&ag) != 0) {
    fprintf(stderr, "slotq-agent: cannot set up: %s\n",
            rc != SLOTQ_OK ? slotq_strerror(rc) : strerror(ENOMEM));
    return 1;
  }

  printf("slotq-agent (libslotq %s): %u function%s, %u caller%s, policy %s, idle timeout %u ms\n",
         slotq_version_string(), ag.opt.functions, ag.opt.functions == 1 ? "" : "s", ag.opt.callers,
         ag.opt.callers == 1 ? "" : "s", ag.opt.policy == SLOTQ_POLICY_SEED ? "seed" : "idle-aware",
         ag.opt.idle_timeout_ms);
  printf("%u calls: %u in a burst, then %u per second", ag.opt.calls, ag.burst_calls, ag.opt.rate);
  if (ag.opt.functions > 1) printf(" (none to fn-%u)", ag.opt.functions - 1);
  printf("\n");
  fflush(stdout);

  /* The callers. Launchers start with the first call of each function. */
  ag.t_start = slotq_now_ns();
  pthread_t *callers = (pthread_t *)calloc(ag.opt.callers, sizeof(pthread_t));
  unsigned ncallers = 0;
  if (callers == NULL) {
    fprintf(stderr, "slotq-agent: out of memory\n");
    return 1;
  }
  for (; ncallers < ag.opt.callers; ncallers++) {
    int err = pthread_create(&callers[ncallers], NULL, caller_main, &ag);
    if (err != 0) {
      agent_log(&ag, "cannot start caller thread %u: %s", ncallers, strerror(err));
      atomic_fetch_add(&ag.errors, 1);
      break;
    }
  }
  if (ncallers == 0) atomic_store(&ag.next_call, ag.opt.calls); /* nobody will make them */
  pthread_t progress;
  if (ag.progress && pthread_create(&progress, NULL, progress_main, &ag) != 0) ag.progress = 0;
  for (unsigned i = 0; i < ncallers; i++) pthread_join(callers[i], NULL);
  free(callers);
  ag.t_end = slotq_now_ns();
  if (ag.progress) {
    pthread_mutex_lock(&progress_mu);
    progress_stop = 1;
    pthread_cond_signal(&progress_cv);
    pthread_mutex_unlock(&progress_mu);
    pthread_join(progress, NULL);
  }

  //! [shutdown]
  /* Shutdown: every call is done. Cancel the launchers' steps and the
   * containers' offers (their idle slots are ejected, so no caller can take
   * them any more), then wait for the threads: each container stops its
   * process. */
  (void)slotq_cancel_cancel(ag.shutdown);
  for (unsigned f = 0; f < ag.opt.functions; f++) launcher_join(&ag.fns[f]);
  for (unsigned f = 0; f < ag.opt.functions; f++) container_join_all(&ag.fns[f]);
  //! [shutdown]
  if (ag.progress) fputs("\r\033[K", stderr);

  report_print(&ag, stdout);
  int failed = report_failed(&ag);

  /* The manager drops the queues; a failed container's slot still on a
   * queue is discarded now, so the containers can be freed after it. */
  slotq_mgr_destroy(ag.mgr);
  for (unsigned f = 0; f < ag.opt.functions; f++) {
    container_free_all(&ag.fns[f]);
    free(ag.fns[f].waits_ns);
    pthread_mutex_destroy(&ag.fns[f].mu);
  }
  free(ag.fns);
  slotq_cancel_release(ag.shutdown);
  pthread_mutex_destroy(&ag.log_mu);
  return failed;
}
