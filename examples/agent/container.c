/* Containers: each is a slotq-hotfn child process and one thread, as the
 * seed's agent's runHot. The thread starts the process, then offers the
 * container's slot again and again: each time a caller takes it, it waits
 * until the caller gives it back; when the slot stays idle for the idle
 * timeout, it is ejected and the container stops. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "protocol.h"

/* ---- the child process -------------------------------------------------- */

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_fd(int from, int to) {
  if (from == to) {
    (void)fcntl(to, F_SETFD, 0); /* keep it across exec */
  } else {
    (void)dup2(from, to); /* the copy is not close-on-exec */
  }
}

/* Starts the child and waits for its "ready" line. Returns 0 or an errno. */
static int child_start(container *c) {
  agent *ag = c->fn->ag;
  int in[2], out[2];
  /* Close-on-exec, so that no other child inherits these pipes (a child
   * holding another one's stdin open would keep it from seeing its EOF). */
  if (pipe2(in, O_CLOEXEC) != 0) return errno;
  if (pipe2(out, O_CLOEXEC) != 0) {
    int err = errno;
    close(in[0]);
    close(in[1]);
    return err;
  }
  char *argv[] = {ag->fn_path,  "--start-ms", ag->start_arg, "--work-ms",
                  ag->work_arg, c->fn->name,  NULL};
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  pid_t pid = fork();
  if (pid == 0) {
    child_fd(in[0], STDIN_FILENO);
    child_fd(out[1], STDOUT_FILENO);
    (void)sigaction(SIGPIPE, &dfl, NULL); /* the agent ignores it */
    execv(argv[0], argv);
    _exit(127);
  }
  int err = pid < 0 ? errno : 0;
  close(in[0]);
  close(out[1]);
  if (err != 0) {
    close(in[1]);
    close(out[0]);
    return err;
  }
  c->pid = pid;
  c->to_child = in[1];
  c->from_child = fdopen(out[0], "r");
  if (c->from_child == NULL) {
    err = errno;
    close(out[0]);
    return err;
  }
  /* Wait for "ready NAME PID". */
  struct pollfd p = {out[0], POLLIN, 0};
  int n;
  while ((n = poll(&p, 1, AGENT_START_TIMEOUT_MS)) < 0 && errno == EINTR) {
  }
  if (n <= 0) return n == 0 ? ETIMEDOUT : errno;
  ssize_t len = getline(&c->line, &c->line_cap, c->from_child);
  if (len < (ssize_t)strlen(HOTFN_READY) || strncmp(c->line, HOTFN_READY, strlen(HOTFN_READY))) {
    return START_NOT_READY; /* it exited, or wrote something else */
  }
  return 0;
}

const char *container_start_error(int err) {
  if (err == START_NOT_READY) return "it exited without writing \"" HOTFN_READY "\"";
  if (err == ETIMEDOUT) return "no \"" HOTFN_READY "\" line in time";
  return strerror(err);
}

/* Closes the child's stdin (its end of input) and reaps it. Safe to call
 * after a failed start. Returns 0 if it exited with status 0. */
static int child_stop(container *c) {
  int status = 0, rc = 0;
  if (c->to_child >= 0) close(c->to_child);
  c->to_child = -1;
  if (c->from_child != NULL) fclose(c->from_child);
  c->from_child = NULL;
  if (c->pid > 0) {
    while (waitpid(c->pid, &status, 0) < 0) {
      if (errno != EINTR) {
        status = -1;
        break;
      }
    }
    rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
    if (rc != 0) {
      agent_log(c->fn->ag, "%s: container %u: slotq-hotfn exited with status %#x", c->fn->name,
                c->id, (unsigned)status);
    }
    c->pid = 0;
  }
  return rc;
}

/* ---- the slot ----------------------------------------------------------- */

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

//! [exec callback]
/* The slot's exec callback: runs one call on the container. The library
 * calls it from slotq_token_exec(), on the caller's thread, while that
 * caller holds the slot, so it has the child's pipes to itself. */
static int container_exec(void *slot, slotq_cancel_t *cancel, void *call_arg) {
  container *c = (container *)slot;
  call_ctx *call = (call_ctx *)call_arg;
  (void)cancel; /* a call here is short; a real agent would honour it */
  call->container = c->id;
  call->hit = c->served > 0;
  c->served++;
  size_t len = strlen(call->request);
  char req[128];
  if (len + 1 > sizeof(req)) return EXEC_IO;
  memcpy(req, call->request, len);
  req[len] = '\n';
  if (write_all(c->to_child, req, len + 1) != 0) {
    c->broken = 1;
    return EXEC_IO;
  }
  ssize_t n = getline(&c->line, &c->line_cap, c->from_child);
  if (n <= 0) {
    c->broken = 1;
    return EXEC_IO;
  }
  if (c->line[n - 1] == '\n') c->line[n - 1] = '\0';
  if (strcmp(c->line, call->expected) == 0) return 0;
  snprintf(call->got, sizeof(call->got), "%s", c->line);
  return EXEC_MISMATCH;
}

/* A container that failed to start offers a slot that reports the error
 * (what the seed's Slot.Error is for), so that the waiting caller that takes
 * it fails at once with SLOTQ_ESLOT instead of waiting for its timeout. */
static int failed_error(void *slot) { return ((container *)slot)->start_error; }

static const slotq_slot_ops container_ops = {container_exec, NULL, NULL, NULL, NULL};
static const slotq_slot_ops failed_ops = {NULL, NULL, failed_error, NULL, NULL};
//! [exec callback]

/* ---- the container thread ----------------------------------------------- */

static void *container_main(void *arg) {
  container *c = (container *)arg;
  function *fn = c->fn;
  agent *ag = fn->ag;
  slotq_queue_t *q = c->queue;

  int64_t t0 = slotq_now_ns();
  c->start_error = child_start(c);
  /* Leave the Starter state the launcher entered, with the start latency. */
  (void)slotq_queue_exit_state_latency(q, SLOTQ_STARTER, (uint64_t)(slotq_now_ns() - t0));
  if (c->start_error != 0) {
    agent_log(ag, "%s: container %u: cannot start %s: %s", fn->name, c->id, ag->fn_path,
              container_start_error(c->start_error));
    atomic_fetch_add(&fn->start_failed, 1);
    atomic_fetch_add(&ag->errors, 1);
    child_stop(c);
    slotq_token_t *tok;
    if (slotq_queue_slot(q, c, &failed_ops, &tok) == SLOTQ_OK) slotq_token_release(tok);
    c->queue = NULL;
    slotq_queue_release(q);
    return NULL;
  }
  atomic_fetch_add(&fn->started, 1);
  atomic_fetch_add(&fn->running, 1);

  //! [container loop]
  for (;;) {
    slotq_token_t *tok;
    int rc = slotq_container_offer(q, c, &container_ops, ag->idle_timeout_ns, ag->shutdown, &tok);
    if (rc == SLOTQ_OK) {
      /* A caller acquired the slot: it runs calls with slotq_token_exec()
       * and gives the slot back with slotq_token_close(). The child is the
       * caller's until then, so wait without a timeout or cancellation. */
      (void)slotq_token_wait_closed(tok, SLOTQ_FOREVER, NULL);
      slotq_token_release(tok);
      if (c->broken) break; /* its pipes failed: stop it */
      continue;             /* serve the next call */
    }
    if (rc == SLOTQ_ETIMEDOUT) {
      atomic_fetch_add(&fn->ejected_idle, 1); /* idle for the idle timeout */
    } else if (rc == SLOTQ_ECANCELED) {
      atomic_fetch_add(&fn->stopped, 1); /* the agent shuts down */
    } else {
      agent_log(ag, "%s: container %u: %s", fn->name, c->id, slotq_strerror(rc));
      atomic_fetch_add(&ag->errors, 1);
    }
    break; /* the slot was ejected: nobody can reach the container any more */
  }
  if (child_stop(c) != 0) atomic_fetch_add(&ag->errors, 1);
  //! [container loop]

  atomic_fetch_sub(&fn->running, 1);
  c->queue = NULL;
  slotq_queue_release(q);
  return NULL;
}

/* Called by the launcher after SLOTQ_LAUNCH_START: starts a container thread
 * that will exit the Starter state. On failure it exits it here. */
void container_start(function *fn, slotq_queue_t *queue) {
  agent *ag = fn->ag;
  container *c = (container *)calloc(1, sizeof(*c));
  if (c == NULL) {
    agent_log(ag, "%s: out of memory", fn->name);
    atomic_fetch_add(&ag->errors, 1);
    (void)slotq_queue_exit_state(queue, SLOTQ_STARTER);
    return;
  }
  c->fn = fn;
  c->to_child = -1;
  c->queue = queue;
  (void)slotq_queue_retain(queue); /* the container thread's reference */
  pthread_mutex_lock(&fn->mu);
  c->id = ++fn->next_container;
  int err = pthread_create(&c->thread, NULL, container_main, c);
  if (err == 0) {
    c->next = fn->containers;
    fn->containers = c;
  }
  pthread_mutex_unlock(&fn->mu);
  if (err != 0) {
    agent_log(ag, "%s: cannot start a container thread: %s", fn->name, strerror(err));
    atomic_fetch_add(&ag->errors, 1);
    (void)slotq_queue_exit_state(queue, SLOTQ_STARTER);
    slotq_queue_release(queue);
    free(c);
  }
}

/* At shutdown, after the launchers were joined (no container starts any more). */
void container_join_all(function *fn) {
  for (container *c = fn->containers; c != NULL; c = c->next) pthread_join(c->thread, NULL);
}

/* After the manager was destroyed: no token refers to a container any more. */
void container_free_all(function *fn) {
  container *c = fn->containers;
  while (c != NULL) {
    container *next = c->next;
    free(c->line);
    free(c);
    c = next;
  }
  fn->containers = NULL;
}
