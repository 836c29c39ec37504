/* slotq-hotfn: a tiny "hot" function, the process slotq-agent runs in each of
 * its containers.
 *
 *   slotq-hotfn [--start-ms MS] [--work-ms MS] NAME
 *
 * It sleeps --start-ms (a simulated cold start), writes "ready NAME PID",
 * then answers each request line on stdin with one line on stdout,
 * "NAME REQUEST CHECKSUM" (see protocol.h), after sleeping --work-ms (the
 * simulated work). Every line is flushed. It exits 0 at the end of its input.
 * With SLOTQ_HOTFN_CORRUPT_EVERY=N in its environment, every Nth response
 * carries a wrong checksum (to test that the agent notices). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

static void sleep_ms(unsigned long ms) {
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int parse_ms(const char *flag, const char *text, unsigned long *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > 3600000) {
    fprintf(stderr, "slotq-hotfn: %s: '%s' is not a number of milliseconds (0-3600000)\n", flag,
            text);
    return -1;
  }
  *out = v;
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: slotq-hotfn [--start-ms MS] [--work-ms MS] NAME\n"
          "A hot function for slotq-agent: writes \"ready NAME PID\", then answers\n"
          "each request line with \"NAME REQUEST CHECKSUM\" until end of input.\n");
}

int main(int argc, char **argv) {
  unsigned long start_ms = 0, work_ms = 0, corrupt_every = 0;
  const char *name = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--start-ms") == 0 && i + 1 < argc) {
      if (parse_ms(argv[i], argv[i + 1], &start_ms) != 0) return 2;
      i++;
    } else if (strcmp(argv[i], "--work-ms") == 0 && i + 1 < argc) {
      if (parse_ms(argv[i], argv[i + 1], &work_ms) != 0) return 2;
      i++;
    } else if (argv[i][0] != '-' && name == NULL) {
      name = argv[i];
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (name == NULL) {
    usage(stderr);
    return 2;
  }
  const char *corrupt = getenv(HOTFN_CORRUPT_ENV);
  if (corrupt != NULL) corrupt_every = strtoul(corrupt, NULL, 10);

  sleep_ms(start_ms);
  printf("%s %s %ld\n", HOTFN_READY, name, (long)getpid());
  fflush(stdout);

  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  unsigned long served = 0;
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    if (n > 0 && line[n - 1] == '\n') line[n - 1] = '\0';
    sleep_ms(work_ms);
    uint32_t sum = hotfn_checksum(name, line);
    served++;
    if (corrupt_every != 0 && served % corrupt_every == 0) sum ^= 1;
    if (printf("%s %s %08x\n", name, line, (unsigned)sum) < 0 || fflush(stdout) != 0) break;
  }
  free(line);
  return 0;
}
