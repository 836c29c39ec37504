/*
 * A C program that links libslotq the ordinary way: built by run.sh once with
 * `cc $(pkg-config --cflags --libs slotq)` and once through CMake's
 * find_package(slotq) / slotq::slotq, then run. It checks the slot cycle of
 * cycle.h and, when told, which shared object it runs against.
 *
 *   consumer [EXPECTED_LIBDIR]
 *
 * EXPECTED_LIBDIR: fail unless the libslotq mapped into this process lives
 * there (so a system copy cannot stand in for the one under test). Built
 * with -DSLOTQ_EXPECT_STATIC, it fails if any libslotq.so is mapped.
 * Built with -DSLOTQ_EXPECT_VERSION="x.y.z" it also checks that the package
 * metadata (pkg-config / CMake) names the version the library reports.
 */
#define _XOPEN_SOURCE 700 /* realpath */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slotq.h>

#define SQ(name) name
#include "cycle.h"

/* The path of the libslotq object mapped into this process, from /proc/self/maps. */
static int loaded_library(char *out, size_t cap) {
  char line[PATH_MAX + 256];
  FILE *f = fopen("/proc/self/maps", "r");
  if (f == NULL) return 0;
  while (fgets(line, sizeof line, f) != NULL) {
    char *path = strchr(line, '/');
    if (path == NULL || strstr(path, "/libslotq.so") == NULL) continue;
    path[strcspn(path, "\n")] = '\0';
    snprintf(out, cap, "%s", path);
    fclose(f);
    return 1;
  }
  fclose(f);
  return 0;
}

int main(int argc, char **argv) {
  char lib[PATH_MAX + 256];
  int failures;

  setvbuf(stdout, NULL, _IONBF, 0); /* keep stdout and stderr in order in logs */
#ifdef SLOTQ_EXPECT_STATIC
  if (loaded_library(lib, sizeof lib)) {
    fprintf(stderr, "FAIL: %s mapped, but libslotq.a was to be linked in\n", lib);
    return 1;
  }
  printf("consumer: libslotq %s linked in statically\n", slotq_version_string());
#else
  if (!loaded_library(lib, sizeof lib)) {
    fprintf(stderr, "FAIL: no libslotq.so mapped (statically linked?)\n");
    return 1;
  }
  printf("consumer: running against %s (libslotq %s)\n", lib, slotq_version_string());
#endif

  if (argc > 1) {
    char want[PATH_MAX], have[PATH_MAX];
    char *slash = strrchr(lib, '/');
    if (realpath(argv[1], want) == NULL) {
      fprintf(stderr, "FAIL: %s: no such directory\n", argv[1]);
      return 1;
    }
    *slash = '\0';
    if (realpath(lib, have) == NULL || strcmp(want, have) != 0) {
      fprintf(stderr, "FAIL: libslotq loaded from %s, expected %s\n", lib, want);
      return 1;
    }
  }
#ifdef SLOTQ_EXPECT_VERSION
  if (strcmp(slotq_version_string(), SLOTQ_EXPECT_VERSION) != 0) {
    fprintf(stderr, "FAIL: the package says version %s, the library %s\n", SLOTQ_EXPECT_VERSION,
            slotq_version_string());
    return 1;
  }
#endif

  failures = cycle_run();
  if (failures != 0) {
    fprintf(stderr, "FAIL: %d check(s) failed\n", failures);
    return 1;
  }
  printf("consumer: all checks passed\n");
  return 0;
}
