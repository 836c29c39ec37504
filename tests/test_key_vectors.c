/* Checks slotq_call_key against every vector of the seed's own
 * getSlotQueueKey in ../shared/vectors/slot_keys.txt (format in
 * ../shared/vectors/vectors2txt.py). Exits 77 (CTest: skipped) with a message
 * when the file is absent: it is not part of the project. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slotq.h>

/* Decodes a hex field ("-" is the empty string) into a fresh buffer. */
static int unhex(const char *tok, slotq_str *out) {
  if (strcmp(tok, "-") == 0) {
    out->ptr = NULL;
    out->len = 0;
    return 0;
  }
  size_t n = strlen(tok);
  if (n % 2 != 0) return -1;
  char *buf = malloc(n / 2 + 1);
  if (buf == NULL) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(tok + 2 * i, "%2x", &v) != 1) {
      free(buf);
      return -1;
    }
    buf[i] = (char)v;
  }
  out->ptr = buf;
  out->len = n / 2;
  return 0;
}

static char *next_tok(char **save) { return strtok_r(NULL, " \n", save); }

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "../shared/vectors/slot_keys.txt";
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    printf(
        "SKIP: key vectors not found at %s (%s); they come with ../shared, which is not part "
        "of the project\n",
        path, strerror(errno));
    return 77;
  }
  char *line = NULL;
  size_t cap = 0;
  int n = 0, bad = 0;
  while (getline(&line, &cap, f) > 0) {
    char *save = NULL;
    slotq_call c;
    memset(&c, 0, sizeof(c));
    slotq_str *strs[4] = {&c.app_name, &c.path, &c.image, NULL};
    char *tok = strtok_r(line, " \n", &save);
    if (tok == NULL) continue;
    n++;
    int ok = unhex(tok, strs[0]) == 0;
    ok = ok && unhex(next_tok(&save), strs[1]) == 0 && unhex(next_tok(&save), strs[2]) == 0;
    c.timeout = (int32_t)strtol(next_tok(&save), NULL, 10);
    c.idle_timeout = (int32_t)strtol(next_tok(&save), NULL, 10);
    c.memory = strtoull(next_tok(&save), NULL, 10);
    ok = ok && unhex(next_tok(&save), &c.format) == 0;
    size_t ncfg = strtoul(next_tok(&save), NULL, 10);
    slotq_kv *cfg = calloc(ncfg ? ncfg : 1, sizeof(*cfg));
    for (size_t i = 0; ok && i < ncfg; i++) {
      ok = unhex(next_tok(&save), &cfg[i].key) == 0 && unhex(next_tok(&save), &cfg[i].value) == 0;
    }
    c.config = cfg;
    c.config_len = ncfg;
    const char *want = next_tok(&save);
    slotq_key k;
    char hex[41] = "";
    int rc = ok ? slotq_call_key(&c, &k) : SLOTQ_EINVAL;
    if (rc == SLOTQ_OK) slotq_key_hex(&k, hex);
    if (!ok || want == NULL || rc != SLOTQ_OK || strcmp(hex, want) != 0) {
      printf("vector %d: got %s (%s), want %s\n", n, hex, slotq_strerror(rc), want ? want : "?");
      bad++;
    }
    for (size_t i = 0; i < ncfg; i++) {
      free((void *)cfg[i].key.ptr);
      free((void *)cfg[i].value.ptr);
    }
    free(cfg);
    free((void *)c.app_name.ptr);
    free((void *)c.path.ptr);
    free((void *)c.image.ptr);
    free((void *)c.format.ptr);
  }
  free(line);
  fclose(f);
  printf("%d key vectors checked, %d mismatched\n", n, bad);
  return bad == 0 && n > 0 ? 0 : 1;
}
