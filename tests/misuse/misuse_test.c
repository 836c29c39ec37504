/*
 * One cmocka test per row of docs/misuse.md: what the library does with bad
 * input and misuse, checked through the public API only.
 *
 * Rows the library cannot detect (use after free, races the header forbids)
 * have no test here; docs/misuse.md says so. Known bugs have their own
 * regression programs (regress_*.c) so that this suite stays a statement of
 * what works.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the four headers above. */
#include <cmocka.h>

#include "misuse_util.h"
#include "slotq.h"

/* A queue "k" with one test slot queued on it, and a dequeuer on it if `d`. */
static void open_queue_with_slot(slotq_queue_t **q, test_slot *s, slotq_dequeuer_t **d) {
  memset(s, 0, sizeof *s);
  assert_int_equal(slotq_queue_create("k", 1, q), SLOTQ_OK);
  assert_int_equal(queue_test_slot(*q, s), SLOTQ_OK);
  if (d != NULL) assert_int_equal(slotq_start_dequeuer(*q, NULL, d), SLOTQ_OK);
}

/* The slot's close and release callbacks each ran exactly once. */
static void assert_slot_ended_once(const test_slot *s) {
  assert_int_equal(s->closes, 1);
  assert_int_equal(s->releases, 1);
}

/* ---------------------------------------------------------------- NULLs */

static void null_handles_return_einval(void **state) {
  (void)state;
  slotq_token_t *tok = NULL;
  slotq_queue_t *q = NULL;
  slotq_dequeuer_t *d = NULL;
  slotq_cancel_t *c = NULL;
  slotq_cancel_reg_t *reg = NULL;
  slotq_stats st;
  slotq_key key;
  size_t n = 0;
  int i = 0;
  uint64_t u = 0;
  void *p = NULL;
  char hex[41];
  slotq_call call = make_call("a");

  assert_int_equal(slotq_call_key(NULL, &key), SLOTQ_EINVAL);
  assert_int_equal(slotq_key_hex(NULL, hex), SLOTQ_EINVAL);
  assert_int_equal(slotq_cancel_create_child(NULL, &c), SLOTQ_EINVAL);
  assert_int_equal(slotq_cancel_cancel(NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_cancel_reason(NULL, &i), SLOTQ_EINVAL);
  assert_int_equal(slotq_cancel_on_cancel(NULL, (slotq_cancel_fn)free, NULL, &reg), SLOTQ_EINVAL);
  assert_int_equal(slotq_cancel_unregister(NULL, &i), SLOTQ_EINVAL);
  assert_int_equal(slotq_cancel_retain(NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_retain(NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_key(NULL, NULL, 0, &n), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_slot(NULL, NULL, &test_ops, &tok), SLOTQ_EINVAL);
  assert_int_equal(slotq_eject(NULL, tok), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_len(NULL, &n), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_retain(NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_id(NULL, &u), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_slot(NULL, &p), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_state_get(NULL, &i, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_acquire(NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_wait(NULL, 0, NULL, &i), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_wait_closed(NULL, 0, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_exec(NULL, NULL, NULL, &i), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_error(NULL, &i), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_close(NULL, &i), SLOTQ_EINVAL);
  assert_int_equal(slotq_start_dequeuer(NULL, NULL, &d), SLOTQ_EINVAL);
  assert_int_equal(slotq_dequeuer_next(NULL, 0, NULL, &tok), SLOTQ_EINVAL);
  assert_int_equal(slotq_dequeuer_stop(NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_enter_state(NULL, SLOTQ_WAITER), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_exit_state(NULL, SLOTQ_WAITER), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_exit_state_latency(NULL, SLOTQ_WAITER, 1), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_record_latency(NULL, SLOTQ_WAITER, 1), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_stats(NULL, &st), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_is_idle(NULL, &i), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_is_new_container_needed(NULL, &i, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_signal(NULL, &i), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_wait_signal(NULL, 0, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_mgr_get(NULL, &call, &q, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_mgr_get_by_key(NULL, &key, &q, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_mgr_delete(NULL, q), SLOTQ_EINVAL);
  assert_int_equal(slotq_mgr_count(NULL, &n), SLOTQ_EINVAL);
  /* Nothing was written through the out parameters. */
  assert_null(tok);
  assert_null(q);
  assert_null(d);
  assert_null(c);
  assert_null(reg);

  /* The release functions take NULL as a no-op. */
  slotq_queue_release(NULL);
  slotq_token_release(NULL);
  slotq_cancel_release(NULL);
  slotq_dequeuer_free(NULL);
  slotq_mgr_destroy(NULL);

  /* The string getters never return NULL, even for unknown statuses. */
  assert_string_equal(slotq_strerror(12345), "unknown status");
  assert_string_equal(slotq_status_name(-12345), "SLOTQ_UNKNOWN");
  assert_string_equal(slotq_status_name(SLOTQ_EGONE), "SLOTQ_EGONE");
  assert_non_null(slotq_version_string());
}

static void null_outputs_return_einval_and_change_nothing(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_mgr_t *mgr = NULL;
  slotq_cancel_t *c = NULL;
  slotq_key key;
  test_slot s;
  memset(&s, 0, sizeof s);
  slotq_call call = make_call("a");

  assert_int_equal(slotq_queue_create("k", 1, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_mgr_create(NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_cancel_create(NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_cancel_create_deadline(NULL, 0, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_call_key(&call, NULL), SLOTQ_EINVAL);

  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(slotq_mgr_create(&mgr), SLOTQ_OK);
  assert_int_equal(slotq_cancel_create(&c), SLOTQ_OK);
  assert_int_equal(slotq_cancel_create_child(c, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_cancel_reason(c, NULL), SLOTQ_EINVAL);
  slotq_cancel_reg_t *reg = NULL;
  assert_int_equal(slotq_cancel_on_cancel(c, NULL, NULL, &reg), SLOTQ_EINVAL);
  assert_int_equal(slotq_cancel_on_cancel(c, (slotq_cancel_fn)free, NULL, NULL), SLOTQ_EINVAL);

  /* A NULL token out or NULL ops queues nothing. */
  assert_int_equal(slotq_queue_slot(q, &s, &test_ops, NULL), SLOTQ_EINVAL);
  slotq_token_t *tok = NULL;
  assert_int_equal(slotq_queue_slot(q, &s, NULL, &tok), SLOTQ_EINVAL);
  assert_null(tok);
  assert_int_equal(queue_len(q), 0);

  assert_int_equal(slotq_queue_len(q, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_stats(q, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_is_idle(q, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_is_new_container_needed(q, NULL, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_key(q, NULL, 0, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_start_dequeuer(q, NULL, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_eject(q, NULL), SLOTQ_EINVAL);

  /* A NULL queue out of a get does not count a waiter. */
  assert_int_equal(slotq_mgr_get(mgr, &call, NULL, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_mgr_get(mgr, NULL, &q, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_mgr_get_by_key(mgr, NULL, &q, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_call_key(&call, &key), SLOTQ_OK);
  assert_int_equal(slotq_mgr_get_by_key(mgr, &key, NULL, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_mgr_count(mgr, NULL), SLOTQ_EINVAL);
  size_t n = 99;
  assert_int_equal(slotq_mgr_count(mgr, &n), SLOTQ_OK);
  assert_int_equal(n, 0);

  /* Token and dequeuer outs. */
  assert_int_equal(queue_test_slot(q, &s), SLOTQ_OK);
  assert_int_equal(slotq_token_id(s.token, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_slot(s.token, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_state_get(s.token, NULL, NULL), SLOTQ_EINVAL);
  assert_int_equal(slotq_token_error(s.token, NULL), SLOTQ_EINVAL);
  assert_int_equal(s.errors, 0);
  slotq_dequeuer_t *d = NULL;
  assert_int_equal(slotq_start_dequeuer(q, NULL, &d), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_next(d, 0, NULL, NULL), SLOTQ_EINVAL);
  /* Nothing was lent: the slot is still on the stack. */
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_QUEUED);
  assert_int_equal(queue_len(q), 1);
  assert_int_equal(slotq_key_hex(&key, NULL), SLOTQ_EINVAL);

  slotq_dequeuer_free(d);
  slotq_queue_release(q);
  assert_int_equal(s.closes, 1); /* discarded at shutdown */
  slotq_token_release(s.token);
  assert_int_equal(s.releases, 1);
  slotq_cancel_release(c);
  slotq_mgr_destroy(mgr);
}

/* -------------------------------------------------------------- strings */

static void zero_length_strings_hash_as_empty(void **state) {
  (void)state;
  slotq_call a, b;
  memset(&a, 0, sizeof a); /* every string NULL with length 0 */
  memset(&b, 0, sizeof b);
  b.app_name.ptr = "";
  b.path.ptr = "x"; /* non-NULL pointer, zero length */
  b.image.ptr = "";
  b.format.ptr = "";
  slotq_key ka, kb;
  assert_int_equal(slotq_call_key(&a, &ka), SLOTQ_OK);
  assert_int_equal(slotq_call_key(&b, &kb), SLOTQ_OK);
  assert_memory_equal(ka.bytes, kb.bytes, SLOTQ_KEY_SIZE);

  /* A zero-length config key and value are a valid entry, and differ from none. */
  slotq_kv kv = {{NULL, 0}, {NULL, 0}};
  a.config = &kv;
  a.config_len = 1;
  assert_int_equal(slotq_call_key(&a, &kb), SLOTQ_OK);
  assert_memory_not_equal(ka.bytes, kb.bytes, SLOTQ_KEY_SIZE);

  /* config NULL with config_len 0 is fine. */
  a.config = NULL;
  a.config_len = 0;
  assert_int_equal(slotq_call_key(&a, &kb), SLOTQ_OK);
  assert_memory_equal(ka.bytes, kb.bytes, SLOTQ_KEY_SIZE);

  /* A zero-length queue key. */
  slotq_queue_t *q = NULL;
  assert_int_equal(slotq_queue_create(NULL, 0, &q), SLOTQ_OK);
  size_t len = 99;
  assert_int_equal(slotq_queue_key(q, NULL, 0, &len), SLOTQ_OK);
  assert_int_equal(len, 0);
  slotq_queue_release(q);
}

static void null_string_with_length_is_einval(void **state) {
  (void)state;
  slotq_key key;
  slotq_call base = make_call("app");
  slotq_kv kv = {SLOTQ_STR("K"), SLOTQ_STR("V")};
  base.config = &kv;
  base.config_len = 1;
  slotq_str *fields[4];
  slotq_call c = base;
  fields[0] = &c.app_name;
  fields[1] = &c.path;
  fields[2] = &c.image;
  fields[3] = &c.format;
  for (int i = 0; i < 4; i++) {
    c = base;
    fields[i]->ptr = NULL;
    fields[i]->len = 3;
    assert_int_equal(slotq_call_key(&c, &key), SLOTQ_EINVAL);
  }
  slotq_kv bad_key = {{NULL, 1}, SLOTQ_STR("V")};
  slotq_kv bad_val = {SLOTQ_STR("K"), {NULL, 1}};
  c = base;
  c.config = &bad_key;
  assert_int_equal(slotq_call_key(&c, &key), SLOTQ_EINVAL);
  c.config = &bad_val;
  assert_int_equal(slotq_call_key(&c, &key), SLOTQ_EINVAL);
  c.config = NULL; /* NULL config with a non-zero length */
  assert_int_equal(slotq_call_key(&c, &key), SLOTQ_EINVAL);
  /* A length past what the library indexes (2^32) is refused before it reads. */
  c.config = &kv;
  c.config_len = (size_t)UINT32_MAX + 1;
  assert_int_equal(slotq_call_key(&c, &key), SLOTQ_EINVAL);

  /* The manager refuses the same calls, and counts no waiter. */
  slotq_mgr_t *mgr = NULL;
  slotq_queue_t *q = NULL;
  assert_int_equal(slotq_mgr_create(&mgr), SLOTQ_OK);
  c = base;
  c.image.ptr = NULL;
  assert_int_equal(slotq_mgr_get(mgr, &c, &q, NULL), SLOTQ_EINVAL);
  assert_null(q);
  size_t n = 99;
  assert_int_equal(slotq_mgr_count(mgr, &n), SLOTQ_OK);
  assert_int_equal(n, 0);
  slotq_mgr_destroy(mgr);

  /* Queue keys: NULL with a length, and too long. */
  unsigned char buf[SLOTQ_MAX_QUEUE_KEY + 1];
  memset(buf, 7, sizeof buf);
  assert_int_equal(slotq_queue_create(NULL, 1, &q), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_create(buf, SLOTQ_MAX_QUEUE_KEY + 1, &q), SLOTQ_EINVAL);
  assert_null(q);
  assert_int_equal(slotq_queue_create(buf, SLOTQ_MAX_QUEUE_KEY, &q), SLOTQ_OK);
  size_t len = 0;
  unsigned char small[4];
  assert_int_equal(slotq_queue_key(q, small, sizeof small, &len), SLOTQ_EINVAL);
  assert_int_equal(slotq_queue_key(q, NULL, 0, &len), SLOTQ_OK);
  assert_int_equal(len, SLOTQ_MAX_QUEUE_KEY);
  unsigned char back[SLOTQ_MAX_QUEUE_KEY];
  assert_int_equal(slotq_queue_key(q, back, sizeof back, &len), SLOTQ_OK);
  assert_memory_equal(back, buf, SLOTQ_MAX_QUEUE_KEY);
  slotq_queue_release(q);
}

static void huge_string_values_are_hashed(void **state) {
  (void)state;
  const size_t mib = 1u << 20;
  char *big = malloc(mib);
  assert_non_null(big);
  memset(big, 'v', mib);
  slotq_call c = make_call("app");
  slotq_kv kv = {SLOTQ_STR("BIG"), {big, mib}};
  c.config = &kv;
  c.config_len = 1;
  c.image.ptr = big; /* a 1 MiB image name too */
  c.image.len = mib;
  slotq_key k1, k2, k3;
  assert_int_equal(slotq_call_key(&c, &k1), SLOTQ_OK);
  assert_int_equal(slotq_call_key(&c, &k2), SLOTQ_OK);
  assert_memory_equal(k1.bytes, k2.bytes, SLOTQ_KEY_SIZE);
  kv.value.len = mib - 1; /* one byte less is another function */
  assert_int_equal(slotq_call_key(&c, &k3), SLOTQ_OK);
  assert_memory_not_equal(k1.bytes, k3.bytes, SLOTQ_KEY_SIZE);
  /* The manager takes such a call; it keeps only the 20-byte key. */
  slotq_mgr_t *mgr = NULL;
  slotq_queue_t *q = NULL;
  assert_int_equal(slotq_mgr_create(&mgr), SLOTQ_OK);
  assert_int_equal(slotq_mgr_get(mgr, &c, &q, NULL), SLOTQ_OK);
  memset(big, 'w', mib); /* the library kept no pointer into the call */
  size_t len = 0;
  unsigned char key[SLOTQ_KEY_SIZE];
  assert_int_equal(slotq_queue_key(q, key, sizeof key, &len), SLOTQ_OK);
  assert_int_equal(len, SLOTQ_KEY_SIZE);
  assert_memory_equal(key, k3.bytes, SLOTQ_KEY_SIZE);
  assert_int_equal(slotq_queue_exit_state(q, SLOTQ_WAITER), SLOTQ_OK);
  slotq_queue_release(q);
  slotq_mgr_destroy(mgr);
  free(big);
}

static void hundred_thousand_config_pairs(void **state) {
  (void)state;
  enum { N = 100000 };
  slotq_kv *kv = calloc(N, sizeof *kv);
  slotq_kv *rev = calloc(N, sizeof *rev);
  char *names = malloc((size_t)N * 8);
  assert_non_null(kv);
  assert_non_null(rev);
  assert_non_null(names);
  for (int i = 0; i < N; i++) {
    char *p = names + (size_t)i * 8;
    /* Distinct keys "k0000000".."k0099999" (8 bytes, not NUL-terminated). */
    p[0] = 'k';
    int v = i;
    for (int j = 7; j >= 1; j--) {
      p[j] = (char)('0' + v % 10);
      v /= 10;
    }
    kv[i].key.ptr = p;
    kv[i].key.len = 8;
    kv[i].value.ptr = p + 1;
    kv[i].value.len = 7;
    rev[N - 1 - i] = kv[i];
  }
  slotq_call c = make_call("app");
  slotq_key k1, k2;
  c.config = kv;
  c.config_len = N;
  assert_int_equal(slotq_call_key(&c, &k1), SLOTQ_OK);
  c.config = rev; /* any order gives the same key */
  assert_int_equal(slotq_call_key(&c, &k2), SLOTQ_OK);
  assert_memory_equal(k1.bytes, k2.bytes, SLOTQ_KEY_SIZE);
  /* One duplicate key among 100 000 is refused. */
  rev[12345].key = rev[54321].key;
  assert_int_equal(slotq_call_key(&c, &k2), SLOTQ_EINVAL);
  /* Duplicates in a short list too (the other sorting path). */
  slotq_kv two[2] = {{SLOTQ_STR("A"), SLOTQ_STR("1")}, {SLOTQ_STR("A"), SLOTQ_STR("2")}};
  c.config = two;
  c.config_len = 2;
  assert_int_equal(slotq_call_key(&c, &k2), SLOTQ_EINVAL);
  free(names);
  free(rev);
  free(kv);
}

/* ------------------------------------------------------------- timeouts */

static void negative_timeouts_are_einval(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_dequeuer_t *d = NULL;
  test_slot s;
  open_queue_with_slot(&q, &s, &d);
  const int64_t bad[] = {-2, -1000000000, INT64_MIN};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    slotq_token_t *t = NULL;
    int st = -1;
    assert_int_equal(slotq_dequeuer_next(d, bad[i], NULL, &t), SLOTQ_EINVAL);
    assert_null(t);
    assert_int_equal(slotq_token_wait(s.token, bad[i], NULL, &st), SLOTQ_EINVAL);
    assert_int_equal(slotq_token_wait_closed(s.token, bad[i], NULL), SLOTQ_EINVAL);
    assert_int_equal(slotq_queue_wait_signal(q, bad[i], NULL), SLOTQ_EINVAL);
  }
  /* Nothing was lent or consumed. */
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_QUEUED);
  assert_int_equal(queue_len(q), 1);
  /* 0 polls. */
  int st = -1;
  assert_int_equal(slotq_token_wait(s.token, 0, NULL, &st), SLOTQ_ETIMEDOUT);
  assert_int_equal(st, SLOTQ_TOKEN_QUEUED);
  assert_int_equal(slotq_token_wait_closed(s.token, 0, NULL), SLOTQ_ETIMEDOUT);
  assert_int_equal(slotq_queue_wait_signal(q, 0, NULL), SLOTQ_ETIMEDOUT);
  /* A deadline in the past: a token that already fired, with ETIMEDOUT. */
  slotq_cancel_t *late = NULL;
  int reason = 0;
  assert_int_equal(slotq_cancel_create_deadline(NULL, slotq_now_ns() - 1000, &late), SLOTQ_OK);
  assert_int_equal(slotq_cancel_reason(late, &reason), SLOTQ_OK);
  assert_int_equal(reason, SLOTQ_ETIMEDOUT);
  slotq_token_t *t = NULL;
  assert_int_equal(slotq_dequeuer_next(d, SLOTQ_FOREVER, late, &t), SLOTQ_ECANCELED);
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_QUEUED);
  slotq_cancel_release(late);
  /* A negative absolute deadline is just a deadline in the past. */
  assert_int_equal(slotq_cancel_create_deadline(NULL, INT64_MIN, &late), SLOTQ_OK);
  assert_int_equal(slotq_cancel_reason(late, &reason), SLOTQ_OK);
  assert_int_equal(reason, SLOTQ_ETIMEDOUT);
  slotq_cancel_release(late);

  assert_int_equal(slotq_eject(q, s.token), SLOTQ_OK);
  slotq_dequeuer_free(d);
  slotq_queue_release(q);
  slotq_token_release(s.token);
  assert_slot_ended_once(&s);
}

/* ---------------------------------------------------------------- states */

static void state_underflow_is_estate_and_changes_nothing(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_stats before, after;
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(slotq_queue_record_latency(q, SLOTQ_RUNNER, 100), SLOTQ_OK);
  assert_int_equal(slotq_queue_record_latency(q, SLOTQ_RUNNER, 300), SLOTQ_OK);
  assert_int_equal(slotq_queue_stats(q, &before), SLOTQ_OK);
  for (int s = 0; s < SLOTQ_STATE_COUNT; s++) {
    assert_int_equal(slotq_queue_exit_state(q, s), SLOTQ_ESTATE);
    assert_int_equal(slotq_queue_exit_state_latency(q, s, 999), SLOTQ_ESTATE);
  }
  assert_int_equal(slotq_queue_stats(q, &after), SLOTQ_OK);
  assert_memory_equal(&before, &after, sizeof before);
  assert_int_equal(after.latencies[SLOTQ_RUNNER], 150); /* (0*5 + 300*5)/10 */
  /* Out-of-range state indexes. */
  const int bad[] = {-1, SLOTQ_STATE_COUNT, INT_MAX, INT_MIN};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(slotq_queue_enter_state(q, bad[i]), SLOTQ_EINVAL);
    assert_int_equal(slotq_queue_exit_state(q, bad[i]), SLOTQ_EINVAL);
    assert_int_equal(slotq_queue_exit_state_latency(q, bad[i], 1), SLOTQ_EINVAL);
    assert_int_equal(slotq_queue_record_latency(q, bad[i], 1), SLOTQ_EINVAL);
  }
  assert_int_equal(slotq_queue_stats(q, &after), SLOTQ_OK);
  assert_memory_equal(&before, &after, sizeof before);
  /* One enter allows exactly one exit. */
  assert_int_equal(slotq_queue_enter_state(q, SLOTQ_STARTER), SLOTQ_OK);
  assert_int_equal(slotq_queue_exit_state_latency(q, SLOTQ_STARTER, 5), SLOTQ_OK);
  assert_int_equal(slotq_queue_exit_state(q, SLOTQ_STARTER), SLOTQ_ESTATE);
  int idle = 0;
  assert_int_equal(slotq_queue_is_idle(q, &idle), SLOTQ_OK);
  assert_int_equal(idle, 1);
  slotq_queue_release(q);
}

/* ------------------------------------------------------------- dequeuers */

static void stopping_a_dequeuer_twice_is_harmless(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_dequeuer_t *d = NULL;
  test_slot s;
  memset(&s, 0, sizeof s);
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(q, NULL, &d), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_stop(d), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_stop(d), SLOTQ_ESTOPPED);
  assert_int_equal(slotq_dequeuer_stop(d), SLOTQ_ESTOPPED);
  /* A stopped dequeuer hands out nothing, even with a slot idle. */
  assert_int_equal(queue_test_slot(q, &s), SLOTQ_OK);
  slotq_token_t *t = NULL;
  assert_int_equal(slotq_dequeuer_next(d, 0, NULL, &t), SLOTQ_ESTOPPED);
  assert_int_equal(slotq_dequeuer_next(d, ms_ns(10), NULL, &t), SLOTQ_ESTOPPED);
  assert_null(t);
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_QUEUED);
  slotq_dequeuer_free(d); /* frees a stopped dequeuer */
  assert_int_equal(slotq_eject(q, s.token), SLOTQ_OK);
  slotq_queue_release(q);
  slotq_token_release(s.token);
  assert_slot_ended_once(&s);
}

static void *busy_next_main(void *p) {
  next_thread *n = (next_thread *)p;
  do {
    n->token = NULL;
    n->rc = slotq_dequeuer_next(n->deq, n->timeout_ns, n->cancel, &n->token);
  } while (n->rc == SLOTQ_EBUSY); /* lost the race to the probe: try again */
  return NULL;
}

static void second_thread_in_next_is_ebusy(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_cancel_t *c = NULL;
  next_thread n;
  memset(&n, 0, sizeof n);
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(slotq_cancel_create(&c), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(q, NULL, &n.deq), SLOTQ_OK);
  n.timeout_ns = SLOTQ_FOREVER;
  n.cancel = c;
  assert_int_equal(pthread_create(&n.th, NULL, busy_next_main, &n), 0);
  assert_true(wait_until_inside_next(n.deq, 20000));
  assert_int_equal(slotq_cancel_cancel(c), SLOTQ_OK);
  assert_int_equal(pthread_join(n.th, NULL), 0);
  assert_int_equal(n.rc, SLOTQ_ECANCELED);
  assert_null(n.token);
  slotq_dequeuer_free(n.deq);
  slotq_cancel_release(c);
  slotq_queue_release(q);
}

/* ---------------------------------------------------------------- tokens */

static void ejecting_a_token_of_another_queue_is_ewrongqueue(void **state) {
  (void)state;
  slotq_queue_t *a = NULL, *b = NULL;
  test_slot s;
  memset(&s, 0, sizeof s);
  assert_int_equal(slotq_queue_create("a", 1, &a), SLOTQ_OK);
  assert_int_equal(slotq_queue_create("a", 1, &b), SLOTQ_OK); /* same key, other queue */
  assert_int_equal(queue_test_slot(a, &s), SLOTQ_OK);
  assert_int_equal(slotq_eject(b, s.token), SLOTQ_EWRONGQUEUE);
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_QUEUED);
  assert_int_equal(s.closes, 0);
  assert_int_equal(queue_len(a), 1);
  /* Also once it is final. */
  assert_int_equal(slotq_token_acquire(s.token), SLOTQ_OK);
  assert_int_equal(slotq_eject(b, s.token), SLOTQ_EWRONGQUEUE);
  assert_int_equal(slotq_eject(a, s.token), SLOTQ_EGONE);
  assert_int_equal(slotq_token_close(s.token, NULL), SLOTQ_OK);
  assert_int_equal(s.closes, 1);
  slotq_queue_release(a);
  slotq_queue_release(b);
  slotq_token_release(s.token);
  assert_int_equal(s.releases, 1);
}

static void final_token_states_refuse_second_parties(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  test_slot s1, s2;
  memset(&s1, 0, sizeof s1);
  memset(&s2, 0, sizeof s2);
  int rc = -1;
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(queue_test_slot(q, &s1), SLOTQ_OK);
  assert_int_equal(queue_test_slot(q, &s2), SLOTQ_OK);

  /* Before acquire: close and exec are ESTATE and run nothing. */
  assert_int_equal(slotq_token_close(s1.token, &rc), SLOTQ_ESTATE);
  assert_int_equal(slotq_token_exec(s1.token, NULL, NULL, &rc), SLOTQ_ESTATE);
  assert_int_equal(s1.closes + s1.execs, 0);

  /* Ejected: ejecting again, acquiring, closing are refused; close ran once. */
  assert_int_equal(slotq_eject(q, s1.token), SLOTQ_OK);
  assert_int_equal(slotq_eject(q, s1.token), SLOTQ_EGONE);
  assert_int_equal(slotq_token_acquire(s1.token), SLOTQ_EGONE);
  assert_int_equal(slotq_token_close(s1.token, &rc), SLOTQ_EGONE);
  assert_int_equal(slotq_token_exec(s1.token, NULL, NULL, &rc), SLOTQ_ESTATE);
  assert_int_equal(s1.closes, 1);
  assert_int_equal(s1.execs, 0);
  assert_int_equal(token_state(s1.token), SLOTQ_TOKEN_EJECTED);
  assert_int_equal(token_closed(s1.token), 1);
  int st = -1;
  assert_int_equal(slotq_token_wait(s1.token, 0, NULL, &st), SLOTQ_OK);
  assert_int_equal(st, SLOTQ_TOKEN_EJECTED);

  /* Acquired: acquiring again and ejecting are refused. */
  assert_int_equal(slotq_token_acquire(s2.token), SLOTQ_OK);
  assert_int_equal(slotq_token_acquire(s2.token), SLOTQ_EGONE);
  assert_int_equal(slotq_eject(q, s2.token), SLOTQ_EGONE);
  assert_int_equal(s2.closes, 0);
  assert_int_equal(slotq_token_exec(s2.token, NULL, NULL, &rc), SLOTQ_OK);
  /* Closed: closing again is EGONE, exec is ESTATE. */
  assert_int_equal(slotq_token_close(s2.token, &rc), SLOTQ_OK);
  assert_int_equal(slotq_token_close(s2.token, &rc), SLOTQ_EGONE);
  assert_int_equal(slotq_token_exec(s2.token, NULL, NULL, &rc), SLOTQ_ESTATE);
  assert_int_equal(s2.closes, 1);
  assert_int_equal(s2.execs, 1);
  assert_int_equal(slotq_token_wait_closed(s2.token, 0, NULL), SLOTQ_OK);
  assert_int_equal(queue_len(q), 0);
  assert_int_equal(queue_state_count(q, SLOTQ_RUNNER), 0);

  slotq_queue_release(q);
  slotq_token_release(s1.token);
  slotq_token_release(s2.token);
  assert_int_equal(s1.releases, 1);
  assert_int_equal(s2.releases, 1);
}

static void lent_token_close_is_estate_and_eject_wins_over_acquire(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_dequeuer_t *d = NULL;
  test_slot s;
  open_queue_with_slot(&q, &s, &d);
  slotq_token_t *t = NULL;
  assert_int_equal(slotq_dequeuer_next(d, 0, NULL, &t), SLOTQ_OK);
  assert_ptr_equal(t, s.token);
  assert_int_equal(token_state(t), SLOTQ_TOKEN_LENT);
  assert_int_equal(slotq_token_close(t, NULL), SLOTQ_ESTATE);
  /* The container ejects the lent token: the caller's acquire then fails. */
  assert_int_equal(slotq_eject(q, s.token), SLOTQ_OK);
  assert_int_equal(slotq_token_acquire(t), SLOTQ_EGONE);
  assert_int_equal(s.closes, 1);
  /* The dequeuer drops its own reference later, not before. */
  slotq_token_release(t);
  assert_int_equal(s.releases, 0);
  slotq_dequeuer_free(d);
  slotq_token_release(s.token);
  assert_int_equal(s.releases, 1);
  slotq_queue_release(q);
}

/* -------------------------------------------- queue release, slots, waiters */

static void releasing_a_queue_with_slots_discards_them(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  test_slot s[3];
  memset(s, 0, sizeof s);
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  for (int i = 0; i < 3; i++) assert_int_equal(queue_test_slot(q, &s[i]), SLOTQ_OK);
  slotq_queue_release(q); /* the last handle */
  for (int i = 0; i < 3; i++) {
    int st = -1;
    assert_int_equal(s[i].closes, 1);
    assert_int_equal(token_state(s[i].token), SLOTQ_TOKEN_DISCARDED);
    assert_int_equal(token_closed(s[i].token), 1);
    /* The token stays valid: the container learns it through its wait. */
    assert_int_equal(slotq_token_wait(s[i].token, 0, NULL, &st), SLOTQ_OK);
    assert_int_equal(st, SLOTQ_TOKEN_DISCARDED);
    assert_int_equal(slotq_token_wait_closed(s[i].token, 0, NULL), SLOTQ_OK);
    assert_int_equal(slotq_token_acquire(s[i].token), SLOTQ_EGONE);
    assert_int_equal(slotq_token_close(s[i].token, NULL), SLOTQ_EGONE);
    assert_int_equal(s[i].closes, 1);
    assert_int_equal(s[i].releases, 0);
    slotq_token_release(s[i].token);
    assert_int_equal(s[i].releases, 1);
  }
}

static void releasing_a_queue_with_waiters_keeps_it_alive(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_cancel_t *c = NULL;
  test_slot s;
  memset(&s, 0, sizeof s);
  next_thread n;
  memset(&n, 0, sizeof n);
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(slotq_cancel_create(&c), SLOTQ_OK);
  /* A lent, unacquired token and a thread waiting for more. */
  assert_int_equal(queue_test_slot(q, &s), SLOTQ_OK);
  slotq_dequeuer_t *d1 = NULL;
  assert_int_equal(slotq_start_dequeuer(q, NULL, &d1), SLOTQ_OK);
  slotq_token_t *lent = NULL;
  assert_int_equal(slotq_dequeuer_next(d1, 0, NULL, &lent), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(q, NULL, &n.deq), SLOTQ_OK);
  n.timeout_ns = SLOTQ_FOREVER;
  n.cancel = c;
  assert_int_equal(next_thread_start(&n), 0);
  slotq_queue_release(q); /* the user's handle; the dequeuers hold theirs */
  /* Nothing was discarded: the slot is still lent. */
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_LENT);
  assert_int_equal(s.closes, 0);
  /* Freeing d1 returns the slot, straight to the waiting thread or the stack. */
  slotq_token_release(lent);
  slotq_dequeuer_free(d1);
  assert_int_equal(s.closes, 0);
  assert_int_equal(pthread_join(n.th, NULL), 0); /* it got the slot */
  assert_int_equal(n.rc, SLOTQ_OK);
  assert_ptr_equal(n.token, s.token);
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_LENT);
  /* The last dequeuer frees: its lent token goes back, and the queue shuts down. */
  slotq_token_release(n.token);
  slotq_dequeuer_free(n.deq);
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_DISCARDED);
  assert_int_equal(s.closes, 1);
  slotq_token_release(s.token);
  assert_int_equal(s.releases, 1);
  slotq_cancel_release(c);
}

/* --------------------------------------------------------------- manager */

static void deleting_a_queue_with_waiters_is_ebusy(void **state) {
  (void)state;
  slotq_mgr_t *mgr = NULL;
  slotq_queue_t *q = NULL, *q2 = NULL;
  int is_new = -1;
  slotq_call call = make_call("fn");
  assert_int_equal(slotq_mgr_create(&mgr), SLOTQ_OK);
  assert_int_equal(slotq_mgr_get(mgr, &call, &q, &is_new), SLOTQ_OK);
  assert_int_equal(is_new, 1);
  assert_int_equal(queue_state_count(q, SLOTQ_WAITER), 1);
  assert_int_equal(slotq_mgr_delete(mgr, q), SLOTQ_EBUSY);
  /* Still there: a get finds the same queue. */
  assert_int_equal(slotq_mgr_get(mgr, &call, &q2, &is_new), SLOTQ_OK);
  assert_int_equal(is_new, 0);
  assert_ptr_equal(q, q2);
  assert_int_equal(queue_state_count(q, SLOTQ_WAITER), 2);
  assert_int_equal(slotq_queue_exit_state(q2, SLOTQ_WAITER), SLOTQ_OK);
  slotq_queue_release(q2);
  /* Runners and starters count too. */
  assert_int_equal(slotq_queue_exit_state(q, SLOTQ_WAITER), SLOTQ_OK);
  assert_int_equal(slotq_queue_enter_state(q, SLOTQ_RUNNER), SLOTQ_OK);
  assert_int_equal(slotq_mgr_delete(mgr, q), SLOTQ_EBUSY);
  assert_int_equal(slotq_queue_exit_state(q, SLOTQ_RUNNER), SLOTQ_OK);
  assert_int_equal(slotq_queue_enter_state(q, SLOTQ_STARTER), SLOTQ_OK);
  assert_int_equal(slotq_mgr_delete(mgr, q), SLOTQ_EBUSY);
  assert_int_equal(slotq_queue_exit_state(q, SLOTQ_STARTER), SLOTQ_OK);
  /* Idle: deleted once, then not found. */
  assert_int_equal(slotq_mgr_delete(mgr, q), SLOTQ_OK);
  assert_int_equal(slotq_mgr_delete(mgr, q), SLOTQ_ENOTFOUND);
  size_t n = 99;
  assert_int_equal(slotq_mgr_count(mgr, &n), SLOTQ_OK);
  assert_int_equal(n, 0);
  /* The holder's handle still works; a new get makes a new queue. */
  assert_int_equal(queue_len(q), 0);
  assert_int_equal(slotq_mgr_get(mgr, &call, &q2, &is_new), SLOTQ_OK);
  assert_int_equal(is_new, 1);
  assert_ptr_not_equal(q, q2);
  assert_int_equal(slotq_queue_exit_state(q2, SLOTQ_WAITER), SLOTQ_OK);
  slotq_queue_release(q2);
  slotq_queue_release(q);
  slotq_mgr_destroy(mgr);
}

static void deleting_a_queue_the_manager_does_not_hold_is_enotfound(void **state) {
  (void)state;
  slotq_mgr_t *m1 = NULL, *m2 = NULL;
  slotq_queue_t *q = NULL, *lookalike = NULL;
  slotq_call call = make_call("fn");
  slotq_key key;
  assert_int_equal(slotq_mgr_create(&m1), SLOTQ_OK);
  assert_int_equal(slotq_mgr_create(&m2), SLOTQ_OK);
  assert_int_equal(slotq_mgr_get(m1, &call, &q, NULL), SLOTQ_OK);
  assert_int_equal(slotq_queue_exit_state(q, SLOTQ_WAITER), SLOTQ_OK);
  assert_int_equal(slotq_mgr_delete(m2, q), SLOTQ_ENOTFOUND);
  /* A standalone queue with the very same 20-byte key is not m1's queue. */
  assert_int_equal(slotq_call_key(&call, &key), SLOTQ_OK);
  assert_int_equal(slotq_queue_create(key.bytes, SLOTQ_KEY_SIZE, &lookalike), SLOTQ_OK);
  assert_int_equal(slotq_mgr_delete(m1, lookalike), SLOTQ_ENOTFOUND);
  slotq_queue_t *short_key = NULL;
  assert_int_equal(slotq_queue_create("x", 1, &short_key), SLOTQ_OK);
  assert_int_equal(slotq_mgr_delete(m1, short_key), SLOTQ_ENOTFOUND);
  size_t n = 0;
  assert_int_equal(slotq_mgr_count(m1, &n), SLOTQ_OK);
  assert_int_equal(n, 1);
  assert_int_equal(slotq_mgr_delete(m1, q), SLOTQ_OK);
  slotq_queue_release(short_key);
  slotq_queue_release(lookalike);
  slotq_queue_release(q);
  slotq_mgr_destroy(m1);
  slotq_mgr_destroy(m2);
}

static void deleting_an_idle_queue_with_slots_discards_them_later(void **state) {
  (void)state;
  slotq_mgr_t *mgr = NULL;
  slotq_queue_t *q = NULL;
  slotq_call call = make_call("fn");
  test_slot s;
  memset(&s, 0, sizeof s);
  assert_int_equal(slotq_mgr_create(&mgr), SLOTQ_OK);
  assert_int_equal(slotq_mgr_get(mgr, &call, &q, NULL), SLOTQ_OK);
  assert_int_equal(slotq_queue_exit_state(q, SLOTQ_WAITER), SLOTQ_OK);
  assert_int_equal(queue_test_slot(q, &s), SLOTQ_OK);
  /* Idle slots do not make a queue busy. */
  assert_int_equal(slotq_mgr_delete(mgr, q), SLOTQ_OK);
  assert_int_equal(s.closes, 0); /* the caller still holds the queue */
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_QUEUED);
  slotq_queue_release(q);
  assert_int_equal(s.closes, 1);
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_DISCARDED);
  slotq_token_release(s.token);
  assert_int_equal(s.releases, 1);
  slotq_mgr_destroy(mgr);
}

static void destroying_the_manager_while_threads_wait(void **state) {
  (void)state;
  slotq_mgr_t *mgr = NULL;
  slotq_queue_t *waiter_q = NULL, *container_q = NULL, *orphan_q = NULL;
  slotq_call call = make_call("fn");
  slotq_call other = make_call("other");
  slotq_cancel_t *guard = NULL;
  test_slot s, idle;
  memset(&s, 0, sizeof s);
  memset(&idle, 0, sizeof idle);
  next_thread n;
  memset(&n, 0, sizeof n);
  assert_int_equal(slotq_mgr_create(&mgr), SLOTQ_OK);
  /* A caller waiting in next on a queue of the manager... */
  assert_int_equal(slotq_mgr_get(mgr, &call, &waiter_q, NULL), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(waiter_q, NULL, &n.deq), SLOTQ_OK);
  /* The guard only bounds the wait if the library loses the slot. */
  assert_int_equal(slotq_cancel_create_deadline(NULL, slotq_now_ns() + ms_ns(30000), &guard),
                   SLOTQ_OK);
  n.timeout_ns = SLOTQ_FOREVER;
  n.cancel = guard;
  assert_int_equal(next_thread_start(&n), 0);
  /* ...a container holding the same queue... */
  assert_int_equal(slotq_mgr_get(mgr, &call, &container_q, NULL), SLOTQ_OK);
  assert_int_equal(slotq_queue_exit_state(container_q, SLOTQ_WAITER), SLOTQ_OK);
  /* ...and a queue only the manager holds, with an idle slot. */
  assert_int_equal(slotq_mgr_get(mgr, &other, &orphan_q, NULL), SLOTQ_OK);
  assert_int_equal(queue_test_slot(orphan_q, &idle), SLOTQ_OK);
  assert_int_equal(slotq_queue_exit_state(orphan_q, SLOTQ_WAITER), SLOTQ_OK);
  slotq_queue_release(orphan_q);
  sleep_ms(20); /* most likely waiting by now; the result does not depend on it */

  slotq_mgr_destroy(mgr);
  /* The queue only the manager held shut down: its idle slot was discarded. */
  assert_int_equal(idle.closes, 1);
  assert_int_equal(token_state(idle.token), SLOTQ_TOKEN_DISCARDED);
  /* The waiter is not disturbed: it takes the next slot queued. */
  assert_int_equal(queue_test_slot(container_q, &s), SLOTQ_OK);
  assert_int_equal(pthread_join(n.th, NULL), 0);
  assert_int_equal(n.rc, SLOTQ_OK);
  assert_ptr_equal(n.token, s.token);
  assert_int_equal(slotq_token_acquire(n.token), SLOTQ_OK);
  assert_int_equal(slotq_queue_exit_state(waiter_q, SLOTQ_WAITER), SLOTQ_OK);
  assert_int_equal(slotq_token_exec(n.token, NULL, NULL, NULL), SLOTQ_OK);
  assert_int_equal(slotq_token_close(n.token, NULL), SLOTQ_OK);
  assert_int_equal(s.closes, 1);
  assert_int_equal(s.execs, 1);
  slotq_token_release(n.token);
  slotq_dequeuer_free(n.deq);
  slotq_queue_release(waiter_q);
  slotq_queue_release(container_q);
  slotq_token_release(s.token);
  slotq_token_release(idle.token);
  assert_int_equal(s.releases, 1);
  assert_int_equal(idle.releases, 1);
  slotq_cancel_release(guard);
}

/* ------------------------------------------- callbacks returning errors */

static void callbacks_returning_errors(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  test_slot s, e;
  memset(&s, 0, sizeof s);
  memset(&e, 0, sizeof e);
  s.exec_rc = 7;
  s.close_rc = -5;
  s.error_rc = 3;
  e.close_rc = 9;
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(queue_test_slot(q, &s), SLOTQ_OK);
  assert_int_equal(queue_test_slot(q, &e), SLOTQ_OK);
  int rc = 0;
  assert_int_equal(slotq_token_error(s.token, &rc), SLOTQ_OK);
  assert_int_equal(rc, 3);
  assert_int_equal(slotq_token_acquire(s.token), SLOTQ_OK);
  rc = 0;
  assert_int_equal(slotq_token_exec(s.token, NULL, NULL, &rc), SLOTQ_ECALLBACK);
  assert_int_equal(rc, 7);
  assert_int_equal(slotq_token_exec(s.token, NULL, NULL, NULL), SLOTQ_ECALLBACK);
  /* The Runner state was left and timed even though exec failed. */
  slotq_stats st;
  assert_int_equal(slotq_queue_stats(q, &st), SLOTQ_OK);
  assert_int_equal(st.states[SLOTQ_RUNNER], 0);
  assert_int_equal(st.latency_count[SLOTQ_RUNNER], 2);
  /* A failing close still closes: once. */
  rc = 0;
  assert_int_equal(slotq_token_close(s.token, &rc), SLOTQ_OK);
  assert_int_equal(rc, -5);
  assert_int_equal(slotq_token_close(s.token, &rc), SLOTQ_EGONE);
  assert_int_equal(s.closes, 1);
  assert_int_equal(token_closed(s.token), 1);
  /* Eject ignores the close callback's error. */
  assert_int_equal(slotq_eject(q, e.token), SLOTQ_OK);
  assert_int_equal(e.closes, 1);
  assert_int_equal(token_state(e.token), SLOTQ_TOKEN_EJECTED);
  slotq_queue_release(q);
  slotq_token_release(s.token);
  slotq_token_release(e.token);
  assert_int_equal(s.releases + e.releases, 2);
}

static void null_callbacks_behave_as_returning_zero(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_token_t *t = NULL, *u = NULL;
  int rc = -1;
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(slotq_queue_slot(q, NULL, &null_ops, &t), SLOTQ_OK);
  assert_int_equal(slotq_queue_slot(q, NULL, &null_ops, &u), SLOTQ_OK);
  assert_int_equal(slotq_token_error(t, &rc), SLOTQ_OK);
  assert_int_equal(rc, 0);
  assert_int_equal(slotq_token_acquire(t), SLOTQ_OK);
  rc = -1;
  assert_int_equal(slotq_token_exec(t, NULL, NULL, &rc), SLOTQ_OK);
  assert_int_equal(rc, 0);
  rc = -1;
  assert_int_equal(slotq_token_close(t, &rc), SLOTQ_OK);
  assert_int_equal(rc, 0);
  assert_int_equal(slotq_eject(q, u), SLOTQ_OK);
  assert_int_equal(token_closed(u), 1);
  slotq_token_release(t);
  slotq_token_release(u);
  slotq_queue_release(q);
}

/* ------------------------------------------- callbacks re-entering the API */

static void close_reenters_on_eject(test_slot *s) {
  /* Ejecting the same token again from its own close callback. */
  s->hook_rc = slotq_eject(s->queue, s->token);
  /* Queueing a fresh slot on the same queue (a container re-offering). */
  test_slot *fresh = (test_slot *)s->ctx;
  s->hook_rc2 = queue_test_slot(s->queue, fresh);
}

static void exec_closes_its_own_token(test_slot *s) {
  s->hook_rc = slotq_token_close(s->token, NULL);
  s->hook_rc2 = (int)queue_state_count(s->queue, SLOTQ_RUNNER);
}

static void close_releases_other_queue(test_slot *s) {
  /* During a shutdown: use other handles, including cancelling a token. */
  s->hook_rc = slotq_cancel_cancel((slotq_cancel_t *)s->ctx);
}

static void callbacks_may_reenter_the_library(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  test_slot s, fresh, x;
  memset(&s, 0, sizeof s);
  memset(&fresh, 0, sizeof fresh);
  memset(&x, 0, sizeof x);
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);

  /* close (run by eject) ejects again and queues another slot. */
  s.on_close = close_reenters_on_eject;
  s.ctx = &fresh;
  assert_int_equal(queue_test_slot(q, &s), SLOTQ_OK);
  assert_int_equal(slotq_eject(q, s.token), SLOTQ_OK);
  assert_int_equal(s.hook_rc, SLOTQ_EGONE);
  assert_int_equal(s.hook_rc2, SLOTQ_OK);
  assert_int_equal(s.closes, 1);
  assert_int_equal(queue_len(q), 1);
  assert_int_equal(token_state(fresh.token), SLOTQ_TOKEN_QUEUED);

  /* exec closes its own token; Runner is counted while exec runs. */
  fresh.on_exec = exec_closes_its_own_token;
  assert_int_equal(slotq_token_acquire(fresh.token), SLOTQ_OK);
  assert_int_equal(slotq_token_exec(fresh.token, NULL, NULL, NULL), SLOTQ_OK);
  assert_int_equal(fresh.hook_rc, SLOTQ_OK);
  assert_int_equal(fresh.hook_rc2, 1);
  assert_int_equal(fresh.closes, 1);
  assert_int_equal(slotq_token_close(fresh.token, NULL), SLOTQ_EGONE);
  assert_int_equal(queue_state_count(q, SLOTQ_RUNNER), 0);

  /* close run by a shutdown uses the library on other handles. */
  slotq_cancel_t *c = NULL;
  assert_int_equal(slotq_cancel_create(&c), SLOTQ_OK);
  x.on_close = close_releases_other_queue;
  x.ctx = c;
  assert_int_equal(queue_test_slot(q, &x), SLOTQ_OK);
  slotq_queue_release(q);
  assert_int_equal(x.closes, 1);
  assert_int_equal(x.hook_rc, SLOTQ_OK);
  int reason = 0;
  assert_int_equal(slotq_cancel_reason(c, &reason), SLOTQ_OK);
  assert_int_equal(reason, SLOTQ_ECANCELED);
  slotq_cancel_release(c);
  slotq_token_release(s.token);
  slotq_token_release(fresh.token);
  slotq_token_release(x.token);
  assert_int_equal(s.releases + fresh.releases + x.releases, 3);
}

typedef struct cancel_ctx {
  slotq_cancel_t *token;
  slotq_cancel_reg_t *self;
  slotq_cancel_reg_t *late;
  slotq_cancel_t *other;
  int runs;
  int late_runs;
  int rc_unregister;
  int rc_register;
  int ran;
} cancel_ctx;

static void late_cb(void *arg) { ((cancel_ctx *)arg)->late_runs++; }

static void cancel_cb_reentering(void *arg) {
  cancel_ctx *x = (cancel_ctx *)arg;
  x->runs++;
  /* Registering on the token that is firing runs the new callback at once. */
  x->rc_register = slotq_cancel_on_cancel(x->token, late_cb, x, &x->late);
  /* Cancelling another token from inside a callback. */
  if (x->other != NULL) slotq_cancel_cancel(x->other);
  /* Unregistering itself from inside (the header allows it). */
  x->rc_unregister = slotq_cancel_unregister(x->self, &x->ran);
  x->self = NULL;
}

static void cancel_callbacks_may_reenter_and_cancel(void **state) {
  (void)state;
  cancel_ctx x;
  memset(&x, 0, sizeof x);
  slotq_cancel_t *other = NULL;
  assert_int_equal(slotq_cancel_create(&x.token), SLOTQ_OK);
  assert_int_equal(slotq_cancel_create(&other), SLOTQ_OK);
  x.other = other;
  assert_int_equal(slotq_cancel_on_cancel(x.token, cancel_cb_reentering, &x, &x.self), SLOTQ_OK);
  assert_int_equal(slotq_cancel_cancel(x.token), SLOTQ_OK);
  assert_int_equal(slotq_cancel_cancel(x.token), SLOTQ_OK); /* twice is harmless */
  assert_int_equal(x.runs, 1);
  assert_int_equal(x.rc_register, SLOTQ_OK);
  assert_int_equal(x.late_runs, 1);
  assert_int_equal(x.rc_unregister, SLOTQ_OK);
  assert_int_equal(x.ran, 1);
  int reason = 0;
  assert_int_equal(slotq_cancel_reason(other, &reason), SLOTQ_OK);
  assert_int_equal(reason, SLOTQ_ECANCELED);
  int ran = -1;
  assert_int_equal(slotq_cancel_unregister(x.late, &ran), SLOTQ_OK);
  assert_int_equal(ran, 1);
  /* A registration that never ran reports so. */
  slotq_cancel_reg_t *never = NULL;
  /* On a token that already fired, the callback runs on this thread at once. */
  assert_int_equal(slotq_cancel_on_cancel(x.token, late_cb, &x, &never), SLOTQ_OK);
  assert_int_equal(x.late_runs, 2);
  assert_int_equal(slotq_cancel_unregister(never, &ran), SLOTQ_OK);
  assert_int_equal(ran, 1);
  slotq_cancel_t *fresh = NULL;
  assert_int_equal(slotq_cancel_create(&fresh), SLOTQ_OK);
  assert_int_equal(slotq_cancel_on_cancel(fresh, late_cb, &x, &never), SLOTQ_OK);
  assert_int_equal(slotq_cancel_unregister(never, &ran), SLOTQ_OK);
  assert_int_equal(ran, 0);
  assert_int_equal(slotq_cancel_cancel(fresh), SLOTQ_OK);
  assert_int_equal(x.late_runs, 2);
  slotq_cancel_release(fresh);
  slotq_cancel_release(other);
  slotq_cancel_release(x.token);
}

static void close_cancels_the_waiters_token(test_slot *s) {
  s->hook_rc = slotq_cancel_cancel((slotq_cancel_t *)s->ctx);
}

static void cancelling_from_inside_a_callback(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_cancel_t *c = NULL, *guard = NULL;
  test_slot s;
  memset(&s, 0, sizeof s);
  next_thread n;
  memset(&n, 0, sizeof n);
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(slotq_cancel_create_deadline(NULL, slotq_now_ns() + ms_ns(30000), &guard),
                   SLOTQ_OK);
  assert_int_equal(slotq_cancel_create_child(guard, &c), SLOTQ_OK);
  /* A thread waits on a dequeuer whose own token is `c`. */
  assert_int_equal(slotq_start_dequeuer(q, c, &n.deq), SLOTQ_OK);
  n.timeout_ns = SLOTQ_FOREVER;
  n.cancel = NULL;
  assert_int_equal(next_thread_start(&n), 0);
  /* A slot whose close callback (run by eject) cancels it. */
  s.on_close = close_cancels_the_waiters_token;
  s.ctx = c;
  assert_int_equal(queue_test_slot(q, &s), SLOTQ_OK);
  /* The waiter may have been handed the slot already: eject works either way. */
  assert_int_equal(slotq_eject(q, s.token), SLOTQ_OK);
  assert_int_equal(s.hook_rc, SLOTQ_OK);
  assert_int_equal(pthread_join(n.th, NULL), 0);
  if (n.rc == SLOTQ_OK) {
    /* It was handed the slot before the eject: the slot is gone for it. */
    assert_ptr_equal(n.token, s.token);
    assert_int_equal(slotq_token_acquire(n.token), SLOTQ_EGONE);
    slotq_token_release(n.token);
  } else {
    assert_int_equal(n.rc, SLOTQ_ECANCELED);
  }
  /* A cancelled dequeuer behaves as stopped. */
  slotq_token_t *t = NULL;
  assert_int_equal(slotq_dequeuer_next(n.deq, 0, NULL, &t), SLOTQ_ECANCELED);
  int reason = 0;
  assert_int_equal(slotq_cancel_reason(guard, &reason), SLOTQ_OK);
  assert_int_equal(reason, SLOTQ_OK); /* the child fired, not the parent */
  slotq_dequeuer_free(n.deq);
  slotq_queue_release(q);
  slotq_token_release(s.token);
  assert_slot_ended_once(&s);
  slotq_cancel_release(c);
  slotq_cancel_release(guard);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(null_handles_return_einval),
      cmocka_unit_test(null_outputs_return_einval_and_change_nothing),
      cmocka_unit_test(zero_length_strings_hash_as_empty),
      cmocka_unit_test(null_string_with_length_is_einval),
      cmocka_unit_test(huge_string_values_are_hashed),
      cmocka_unit_test(hundred_thousand_config_pairs),
      cmocka_unit_test(negative_timeouts_are_einval),
      cmocka_unit_test(state_underflow_is_estate_and_changes_nothing),
      cmocka_unit_test(stopping_a_dequeuer_twice_is_harmless),
      cmocka_unit_test(second_thread_in_next_is_ebusy),
      cmocka_unit_test(ejecting_a_token_of_another_queue_is_ewrongqueue),
      cmocka_unit_test(final_token_states_refuse_second_parties),
      cmocka_unit_test(lent_token_close_is_estate_and_eject_wins_over_acquire),
      cmocka_unit_test(releasing_a_queue_with_slots_discards_them),
      cmocka_unit_test(releasing_a_queue_with_waiters_keeps_it_alive),
      cmocka_unit_test(deleting_a_queue_with_waiters_is_ebusy),
      cmocka_unit_test(deleting_a_queue_the_manager_does_not_hold_is_enotfound),
      cmocka_unit_test(deleting_an_idle_queue_with_slots_discards_them_later),
      cmocka_unit_test(destroying_the_manager_while_threads_wait),
      cmocka_unit_test(callbacks_returning_errors),
      cmocka_unit_test(null_callbacks_behave_as_returning_zero),
      cmocka_unit_test(callbacks_may_reenter_the_library),
      cmocka_unit_test(cancel_callbacks_may_reenter_and_cancel),
      cmocka_unit_test(cancelling_from_inside_a_callback),
  };
  return cmocka_run_group_tests_name("misuse", tests, NULL, NULL);
}
