/* Slot keys: the seed's serialization, edge cases, and errors. The shared
 * vectors live in test_key_vectors.c. */
#include <stdlib.h>

#include "testutil.h"

static void hex_of(const slotq_call *c, char out[41]) {
  slotq_key k;
  assert_ok(slotq_call_key(c, &k));
  assert_ok(slotq_key_hex(&k, out));
}

static void empty_call_matches_the_seed(void **state) {
  (void)state;
  slotq_call c;
  memset(&c, 0, sizeof(c));
  char hex[41];
  hex_of(&c, hex);
  assert_string_equal(hex, "bb7a95e878c088a5ae0cb80872a702214a890908");
}

static void known_calls_match_the_seed(void **state) {
  (void)state;
  /* From ../shared/vectors (seed's getSlotQueueKey), inlined so that the
   * test runs anywhere. */
  slotq_call c;
  memset(&c, 0, sizeof(c));
  c.app_name = (slotq_str)SLOTQ_STR("a");
  c.path = (slotq_str)SLOTQ_STR("/p");
  c.image = (slotq_str)SLOTQ_STR("img");
  c.format = (slotq_str)SLOTQ_STR("http");
  c.timeout = 30;
  c.idle_timeout = 30;
  c.memory = 128;
  char hex[41];
  hex_of(&c, hex);
  assert_string_equal(hex, "312c292e615ca1a2ded5379d8defdcb597e3bdc3");
  c.timeout = -1;
  c.idle_timeout = 2147483647;
  c.memory = UINT64_MAX;
  c.format = (slotq_str)SLOTQ_STR("json");
  hex_of(&c, hex);
  assert_string_equal(hex, "f68ad8e300f66bc32c84a67a3bfcf59930c5aef2");
  /* NUL bytes inside strings and keys, config in any order. */
  slotq_kv cfg[1] = {{{"k\0", 2}, {"v\0", 2}}};
  slotq_call d;
  memset(&d, 0, sizeof(d));
  d.app_name = (slotq_str){"a\0b", 3};
  d.image = (slotq_str)SLOTQ_STR("x");
  d.config = cfg;
  d.config_len = 1;
  hex_of(&d, hex);
  assert_string_equal(hex, "1bd9dd85317d6de4788802081cfeac5480099318");
}

static void config_is_sorted_by_key_bytes(void **state) {
  (void)state;
  /* "A1" "B2" "Z" "a" "empty-key"... in shuffled order; from the vectors. */
  slotq_kv cfg[5] = {
      {SLOTQ_STR("a"), SLOTQ_STR("0")}, {SLOTQ_STR(""), SLOTQ_STR("empty-key")},
      {SLOTQ_STR("Z"), SLOTQ_STR("")},  {SLOTQ_STR("A"), SLOTQ_STR("1")},
      {SLOTQ_STR("B"), SLOTQ_STR("2")},
  };
  slotq_call c;
  memset(&c, 0, sizeof(c));
  c.app_name = (slotq_str)SLOTQ_STR("a");
  c.config = cfg;
  c.config_len = 5;
  char hex[41], again[41];
  hex_of(&c, hex);
  assert_string_equal(hex, "e16634ce1e68fe300f2167e7035fa1d33de44312");
  slotq_kv rev[5];
  for (int i = 0; i < 5; i++) rev[i] = cfg[4 - i];
  c.config = rev;
  hex_of(&c, again);
  assert_string_equal(hex, again);
}

static void duplicate_config_keys_are_refused(void **state) {
  (void)state;
  slotq_kv cfg[3] = {{SLOTQ_STR("K"), SLOTQ_STR("1")},
                     {SLOTQ_STR("L"), SLOTQ_STR("2")},
                     {SLOTQ_STR("K"), SLOTQ_STR("3")}};
  slotq_call c;
  memset(&c, 0, sizeof(c));
  c.config = cfg;
  c.config_len = 3;
  slotq_key k;
  assert_status(SLOTQ_EINVAL, slotq_call_key(&c, &k));
}

static void bad_strings_are_refused(void **state) {
  (void)state;
  slotq_call c;
  memset(&c, 0, sizeof(c));
  slotq_key k;
  c.path = (slotq_str){NULL, 3};
  assert_status(SLOTQ_EINVAL, slotq_call_key(&c, &k));
  memset(&c, 0, sizeof(c));
  c.config_len = 2; /* NULL config with entries */
  assert_status(SLOTQ_EINVAL, slotq_call_key(&c, &k));
  slotq_kv cfg[1] = {{{NULL, 1}, SLOTQ_STR("v")}};
  c.config = cfg;
  c.config_len = 1;
  assert_status(SLOTQ_EINVAL, slotq_call_key(&c, &k));
  assert_status(SLOTQ_EINVAL, slotq_call_key(NULL, &k));
  memset(&c, 0, sizeof(c));
  assert_status(SLOTQ_EINVAL, slotq_call_key(&c, NULL));
  assert_status(SLOTQ_EINVAL, slotq_key_hex(NULL, (char[41]){0}));
}

static void huge_inputs_work(void **state) {
  (void)state;
  /* A 1 MiB value and 100 000 config pairs: valid, just large. */
  size_t big = 1 << 20;
  char *value = malloc(big);
  assert_non_null(value);
  memset(value, 'v', big);
  enum { N = 100000 };
  slotq_kv *cfg = calloc(N, sizeof(*cfg));
  char *names = malloc((size_t)N * 8);
  assert_non_null(cfg);
  assert_non_null(names);
  for (int i = 0; i < N; i++) {
    int n = snprintf(names + (size_t)i * 8, 8, "%07d", N - 1 - i); /* reversed order */
    cfg[i].key = (slotq_str){names + (size_t)i * 8, (size_t)n};
    cfg[i].value = (slotq_str){value, i == 0 ? big : 1};
  }
  slotq_call c;
  memset(&c, 0, sizeof(c));
  c.image = (slotq_str){value, big};
  c.config = cfg;
  c.config_len = N;
  slotq_key k1, k2;
  assert_ok(slotq_call_key(&c, &k1));
  /* Same entries in another order: same key. */
  slotq_kv tmp = cfg[0];
  cfg[0] = cfg[N - 1];
  cfg[N - 1] = tmp;
  assert_ok(slotq_call_key(&c, &k2));
  assert_memory_equal(k1.bytes, k2.bytes, SLOTQ_KEY_SIZE);
  free(names);
  free(cfg);
  free(value);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(empty_call_matches_the_seed),
      cmocka_unit_test(known_calls_match_the_seed),
      cmocka_unit_test(config_is_sorted_by_key_bytes),
      cmocka_unit_test(duplicate_config_keys_are_refused),
      cmocka_unit_test(bad_strings_are_refused),
      cmocka_unit_test(huge_inputs_work),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
