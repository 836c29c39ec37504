/*
 * Loads the versioned shared object at run time, as a plugin host or a
 * language binding does, and checks that it provides the whole public API.
 *
 *   dlopen_all LIBRARY HEADER
 *
 * LIBRARY is PREFIX/lib/libslotq.so.1, HEADER PREFIX/include/slotq.h. The list
 * of functions is read from HEADER now (every `SLOTQ_API ... slotq_name(`
 * declaration), so the check follows the header as it grows. Every one must
 * resolve with dlsym(); then the slot cycle of cycle.h runs through the
 * resolved pointers only. The program is not linked with libslotq: the
 * header's prototypes give the pointers their types, never a symbol.
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slotq.h>

/* ---- the header's list of functions ------------------------------------- */

#define MAX_FUNCS 512
static char *func_names[MAX_FUNCS];
static void *func_ptrs[MAX_FUNCS];
static int func_count = 0;

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  buf = malloc((size_t)n + 1);
  if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  if (buf != NULL) buf[n] = '\0';
  fclose(f);
  return buf;
}

static int is_ident_start(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_ident(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

/* Skips a comment starting at p ("/" then "*" or "/"), returning what follows it. */
static const char *skip_comment(const char *p) {
  if (p[1] == '*') {
    const char *end = strstr(p + 2, "*/");
    return end != NULL ? end + 2 : p + strlen(p);
  }
  while (*p != '\0' && *p != '\n') p++;
  return p;
}

/*
 * Collects the name of every function declared with SLOTQ_API: outside
 * comments, string literals and preprocessor directives (where the macro is
 * defined), the last identifier before the first '(' after the SLOTQ_API token.
 * Returns 0 on a malformed declaration.
 */
static int parse_header(const char *text) {
  const char *p = text;
  int at_line_start = 1, in_decl = 0;
  const char *last = NULL;
  size_t last_len = 0;

  while (*p != '\0') {
    char c = *p;
    if (c == '\n') {
      at_line_start = 1;
      p++;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      p++;
      continue;
    }
    if (c == '/' && (p[1] == '*' || p[1] == '/')) {
      p = skip_comment(p);
      continue;
    }
    if (c == '#' && at_line_start) { /* a directive, with its continuations */
      while (*p != '\0' && *p != '\n') {
        if (*p == '\\' && p[1] == '\n')
          p += 2;
        else if (*p == '\\' && p[1] == '\r' && p[2] == '\n')
          p += 3;
        else if (*p == '/' && (p[1] == '*' || p[1] == '/'))
          p = skip_comment(p);
        else
          p++;
      }
      continue;
    }
    at_line_start = 0;
    if (c == '"' || c == '\'') {
      for (p++; *p != '\0' && *p != c; p++) {
        if (*p == '\\' && p[1] != '\0') p++;
      }
      if (*p != '\0') p++;
      continue;
    }
    if (is_ident_start(c)) {
      const char *start = p;
      while (is_ident(*p)) p++;
      if ((size_t)(p - start) == 9 && strncmp(start, "SLOTQ_API", 9) == 0) {
        if (in_decl) return 0;
        in_decl = 1;
        last = NULL;
      } else if (in_decl) {
        last = start;
        last_len = (size_t)(p - start);
      }
      continue;
    }
    if (in_decl && c == '(') {
      if (last == NULL || strncmp(last, "slotq_", 6) != 0 || func_count == MAX_FUNCS) return 0;
      func_names[func_count] = malloc(last_len + 1);
      if (func_names[func_count] == NULL) return 0;
      memcpy(func_names[func_count], last, last_len);
      func_names[func_count][last_len] = '\0';
      func_count++;
      in_decl = 0;
    } else if (in_decl && (c == ';' || c == '{' || c == ')')) {
      return 0;
    }
    p++;
  }
  return !in_decl;
}

static void *resolved(const char *name) {
  int i;
  for (i = 0; i < func_count; i++) {
    if (strcmp(func_names[i], name) == 0) return func_ptrs[i];
  }
  return NULL;
}

/* ---- the API through pointers -------------------------------------------- */

/* One pointer per function the checks call, typed from the header's own
 * prototype. Filled from the resolved table by name. */
// clang-format off
#define API_FUNCS(X) \
  X(slotq_version) \
  X(slotq_version_string) \
  X(slotq_strerror) \
  X(slotq_status_name) \
  X(slotq_now_ns) \
  X(slotq_call_key) \
  X(slotq_key_hex) \
  X(slotq_cancel_create) \
  X(slotq_cancel_create_child) \
  X(slotq_cancel_cancel) \
  X(slotq_cancel_reason) \
  X(slotq_cancel_release) \
  X(slotq_queue_create) \
  X(slotq_queue_release) \
  X(slotq_queue_slot) \
  X(slotq_eject) \
  X(slotq_queue_len) \
  X(slotq_token_release) \
  X(slotq_token_id) \
  X(slotq_token_slot) \
  X(slotq_token_state_get) \
  X(slotq_token_acquire) \
  X(slotq_token_wait) \
  X(slotq_token_wait_closed) \
  X(slotq_token_exec) \
  X(slotq_token_error) \
  X(slotq_token_close) \
  X(slotq_start_dequeuer) \
  X(slotq_dequeuer_next) \
  X(slotq_dequeuer_stop) \
  X(slotq_dequeuer_free) \
  X(slotq_queue_exit_state) \
  X(slotq_queue_exit_state_latency) \
  X(slotq_queue_stats) \
  X(slotq_queue_signal) \
  X(slotq_queue_wait_signal) \
  X(slotq_mgr_create) \
  X(slotq_mgr_destroy) \
  X(slotq_mgr_get) \
  X(slotq_mgr_delete) \
  X(slotq_mgr_count)
// clang-format on

#define API_FIELD(name) __typeof__(&name) name;
static struct { API_FUNCS(API_FIELD) } api;

static int load_api(void) {
  int missing = 0;
  void *p;
#define API_LOAD(name)                                                         \
  p = resolved(#name);                                                         \
  if (p == NULL) {                                                             \
    fprintf(stderr,                                                            \
            "FAIL: %s, used by the checks, is not a resolved function of the " \
            "header\n",                                                        \
            #name);                                                            \
    missing++;                                                                 \
  }                                                                            \
  memcpy(&api.name, &p, sizeof p);
  API_FUNCS(API_LOAD)
  return missing == 0;
}

#define SQ(name) (api.name)
#include "cycle.h"

int main(int argc, char **argv) {
  char *header;
  void *lib;
  int i, missing = 0, failures;

  setvbuf(stdout, NULL, _IONBF, 0); /* keep stdout and stderr in order in logs */
  if (argc != 3) {
    fprintf(stderr, "usage: %s LIBRARY HEADER\n", argv[0]);
    return 2;
  }
  header = read_file(argv[2]);
  if (header == NULL) {
    fprintf(stderr, "FAIL: cannot read %s\n", argv[2]);
    return 1;
  }
  if (!parse_header(header)) {
    fprintf(stderr, "FAIL: %s: a SLOTQ_API declaration this test cannot read (after %d)\n", argv[2],
            func_count);
    return 1;
  }
  for (i = 0; i < func_count && strcmp(func_names[i], "slotq_version") != 0; i++) {
  }
  if (i == func_count) { /* the parser must at least find this one */
    fprintf(stderr, "FAIL: no slotq_version among the %d functions read from %s\n", func_count,
            argv[2]);
    return 1;
  }
  printf("dlopen_all: %s declares %d functions\n", argv[2], func_count);

  /* Not linked: nothing of libslotq may be in the process yet. */
  if (dlsym(RTLD_DEFAULT, "slotq_version") != NULL) {
    fprintf(stderr, "FAIL: slotq_version resolves before dlopen (linked with libslotq?)\n");
    return 1;
  }
  lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    fprintf(stderr, "FAIL: dlopen(%s): %s\n", argv[1], dlerror());
    return 1;
  }
  for (i = 0; i < func_count; i++) {
    dlerror();
    func_ptrs[i] = dlsym(lib, func_names[i]);
    if (func_ptrs[i] == NULL) {
      fprintf(stderr, "FAIL: %s: %s is declared in the header but not exported\n", argv[1],
              func_names[i]);
      missing++;
    }
  }
  printf("dlopen_all: resolved %d of %d\n", func_count - missing, func_count);
  if (missing != 0 || !load_api()) return 1;

  failures = cycle_run();
  if (failures != 0) {
    fprintf(stderr, "FAIL: %d check(s) failed through the resolved pointers\n", failures);
    return 1;
  }
  if (dlclose(lib) != 0) {
    fprintf(stderr, "FAIL: dlclose: %s\n", dlerror());
    return 1;
  }
  for (i = 0; i < func_count; i++) free(func_names[i]);
  free(header);
  printf("dlopen_all: all checks passed\n");
  return 0;
}
