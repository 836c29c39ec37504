/*
 * Runs the fuzz target's logic (LLVMFuzzerTestOneInput) on files without
 * libFuzzer, so that the committed corpus is replayed in every CTest run and
 * any crash input can be reproduced under a debugger or valgrind.
 *
 * Usage: slotq_fuzz_replay [--no-fork] FILE_OR_DIR...
 * Each file runs in its own child process (unless --no-fork), so one failure
 * does not hide the others. Prints "N passed, M failed" and exits non-zero if
 * any input failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int g_fork = 1;
static int g_passed, g_failed;

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return 1;
  }
  size_t cap = 4096, n = 0;
  uint8_t *data = malloc(cap);
  if (data == NULL) abort();
  for (;;) {
    if (n == cap) {
      cap *= 2;
      uint8_t *bigger = realloc(data, cap);
      if (bigger == NULL) abort();
      data = bigger;
    }
    size_t got = fread(data + n, 1, cap - n, f);
    if (got == 0) break;
    n += got;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(data, n);
  free(data);
  return 0;
}

static void replay(const char *path) {
  if (!g_fork) {
    fprintf(stderr, "replaying %s\n", path);
    if (run_file(path) == 0)
      g_passed++;
    else
      g_failed++;
    return;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    g_failed++;
    return;
  }
  if (pid == 0) exit(run_file(path));
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "FAILED: %s (%s %d)\n", path, WIFSIGNALED(status) ? "signal" : "exit status",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    g_failed++;
  } else {
    g_passed++;
  }
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    g_failed++;
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    replay(path);
    return;
  }
  DIR *dir = opendir(path);
  if (dir == NULL) {
    perror(path);
    g_failed++;
    return;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **bigger = realloc(names, cap * sizeof *names);
      if (bigger == NULL) abort();
      names = bigger;
    }
    size_t len = strlen(path) + strlen(e->d_name) + 2;
    names[n] = malloc(len);
    if (names[n] == NULL) abort();
    snprintf(names[n], len, "%s/%s", path, e->d_name);
    n++;
  }
  closedir(dir);
  qsort(names, n, sizeof *names, by_name); /* the same order every run */
  for (size_t i = 0; i < n; i++) {
    replay_path(names[i]);
    free(names[i]);
  }
  free(names);
}

int main(int argc, char **argv) {
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--no-fork") == 0) {
    g_fork = 0;
    first = 2;
  }
  if (first >= argc) {
    fprintf(stderr, "usage: %s [--no-fork] FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  for (int i = first; i < argc; i++) replay_path(argv[i]);
  printf("slotq_fuzz_replay: %d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 && g_passed > 0 ? 0 : 1;
}
