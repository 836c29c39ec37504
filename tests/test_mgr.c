/* The manager: get enters Waiter in the same critical section, delete only
 * when idle, lookups by call and by key. */
#include <pthread.h>

#include "testutil.h"

static slotq_call call_for(const char *path, slotq_kv *cfg, size_t n) {
  slotq_call c;
  memset(&c, 0, sizeof(c));
  c.app_name = (slotq_str)SLOTQ_STR("app");
  c.path = (slotq_str){path, strlen(path)};
  c.image = (slotq_str)SLOTQ_STR("img:1");
  c.format = (slotq_str)SLOTQ_STR("http");
  c.timeout = 30;
  c.idle_timeout = 30;
  c.memory = 128;
  c.config = cfg;
  c.config_len = n;
  return c;
}

static void get_creates_once_and_enters_waiter(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_call c = call_for("/a", NULL, 0);
  slotq_queue_t *q1, *q2;
  int is_new = -1;
  assert_ok(slotq_mgr_get(m, &c, &q1, &is_new));
  assert_int_equal(is_new, 1);
  assert_ok(slotq_mgr_get(m, &c, &q2, &is_new));
  assert_int_equal(is_new, 0);
  assert_ptr_equal(q1, q2);
  slotq_stats s;
  assert_ok(slotq_queue_stats(q1, &s));
  assert_int_equal(s.states[SLOTQ_WAITER], 2);
  /* The queue's key is the call's key. */
  slotq_key k;
  assert_ok(slotq_call_key(&c, &k));
  unsigned char buf[SLOTQ_KEY_SIZE];
  size_t len = 0;
  assert_ok(slotq_queue_key(q1, buf, sizeof(buf), &len));
  assert_int_equal(len, SLOTQ_KEY_SIZE);
  assert_memory_equal(buf, k.bytes, SLOTQ_KEY_SIZE);
  /* By key finds the same queue. */
  slotq_queue_t *q3;
  assert_ok(slotq_mgr_get_by_key(m, &k, &q3, NULL));
  assert_ptr_equal(q3, q1);
  size_t count = 0;
  assert_ok(slotq_mgr_count(m, &count));
  assert_int_equal(count, 1);
  for (int i = 0; i < 3; i++) assert_ok(slotq_queue_exit_state(q1, SLOTQ_WAITER));
  slotq_queue_release(q1);
  slotq_queue_release(q2);
  slotq_queue_release(q3);
  slotq_mgr_destroy(m);
}

static void config_order_does_not_matter(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_kv a[2] = {{SLOTQ_STR("X"), SLOTQ_STR("1")}, {SLOTQ_STR("Y"), SLOTQ_STR("2")}};
  slotq_kv b[2] = {{SLOTQ_STR("Y"), SLOTQ_STR("2")}, {SLOTQ_STR("X"), SLOTQ_STR("1")}};
  slotq_kv other[2] = {{SLOTQ_STR("Y"), SLOTQ_STR("3")}, {SLOTQ_STR("X"), SLOTQ_STR("1")}};
  slotq_call ca = call_for("/p", a, 2), cb = call_for("/p", b, 2), co = call_for("/p", other, 2);
  slotq_queue_t *qa, *qb, *qo;
  assert_ok(slotq_mgr_get(m, &ca, &qa, NULL));
  assert_ok(slotq_mgr_get(m, &cb, &qb, NULL));
  assert_ok(slotq_mgr_get(m, &co, &qo, NULL));
  assert_ptr_equal(qa, qb);
  assert_ptr_not_equal(qa, qo);
  slotq_queue_release(qa);
  slotq_queue_release(qb);
  slotq_queue_release(qo);
  slotq_mgr_destroy(m); /* waiters still counted: destroy must not care */
}

static void delete_only_when_idle(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_call c = call_for("/d", NULL, 0);
  slotq_queue_t *q;
  assert_ok(slotq_mgr_get(m, &c, &q, NULL));
  assert_status(SLOTQ_EBUSY, slotq_mgr_delete(m, q));
  assert_ok(slotq_queue_exit_state(q, SLOTQ_WAITER));
  assert_ok(slotq_queue_enter_state(q, SLOTQ_RUNNER));
  assert_status(SLOTQ_EBUSY, slotq_mgr_delete(m, q));
  assert_ok(slotq_queue_exit_state(q, SLOTQ_RUNNER));
  assert_ok(slotq_queue_enter_state(q, SLOTQ_STARTER));
  assert_status(SLOTQ_EBUSY, slotq_mgr_delete(m, q));
  assert_ok(slotq_queue_exit_state(q, SLOTQ_STARTER));
  /* Idle slots do not make a queue busy (as in the seed). */
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_ok(slotq_mgr_delete(m, q));
  assert_status(SLOTQ_ENOTFOUND, slotq_mgr_delete(m, q));
  size_t count = 9;
  assert_ok(slotq_mgr_count(m, &count));
  assert_int_equal(count, 0);
  /* A new get makes a new queue. */
  slotq_queue_t *q2;
  int is_new = 0;
  assert_ok(slotq_mgr_get(m, &c, &q2, &is_new));
  assert_int_equal(is_new, 1);
  assert_ptr_not_equal(q2, q);
  assert_ok(slotq_queue_exit_state(q2, SLOTQ_WAITER));
  /* The deleted queue still works for its holders; releasing the last
   * handle discards its idle slot. */
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_QUEUED);
  slotq_queue_release(q);
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_DISCARDED);
  assert_int_equal(atomic_load(&s.closes), 1);
  slotq_token_release(t);
  /* A queue from elsewhere is not found. */
  slotq_queue_t *loose = test_queue();
  assert_status(SLOTQ_ENOTFOUND, slotq_mgr_delete(m, loose));
  slotq_queue_release(loose);
  slotq_queue_release(q2);
  slotq_mgr_destroy(m);
}

static void many_queues_grow_the_table(void **state) {
  (void)state;
  enum { N = 5000 };
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  static slotq_queue_t *qs[N];
  char path[32];
  for (int i = 0; i < N; i++) {
    snprintf(path, sizeof(path), "/f/%d", i);
    slotq_call c = call_for(path, NULL, 0);
    int is_new = 0;
    assert_ok(slotq_mgr_get(m, &c, &qs[i], &is_new));
    assert_int_equal(is_new, 1);
    assert_ok(slotq_queue_exit_state(qs[i], SLOTQ_WAITER));
  }
  size_t count = 0;
  assert_ok(slotq_mgr_count(m, &count));
  assert_int_equal(count, N);
  /* Delete every other one (exercises the probe-chain repair), then find
   * the rest again. */
  for (int i = 0; i < N; i += 2) assert_ok(slotq_mgr_delete(m, qs[i]));
  for (int i = 0; i < N; i++) {
    snprintf(path, sizeof(path), "/f/%d", i);
    slotq_call c = call_for(path, NULL, 0);
    slotq_queue_t *q;
    int is_new = -1;
    assert_ok(slotq_mgr_get(m, &c, &q, &is_new));
    assert_int_equal(is_new, i % 2 == 0);
    if (i % 2 != 0) assert_ptr_equal(q, qs[i]);
    assert_ok(slotq_queue_exit_state(q, SLOTQ_WAITER));
    slotq_queue_release(q);
  }
  for (int i = 0; i < N; i++) slotq_queue_release(qs[i]);
  slotq_mgr_destroy(m);
}

/* Moving the table's entries a few per get, after it doubled: until the
 * move ends, a get or a delete must find a queue in either table, exactly
 * once, and the metrics and the manager's destruction must reach every
 * queue exactly once. The table starts at 16 slots and doubles at 13/16
 * full, so the 833rd queue doubles it from 1024 slots to 2048; the move
 * then takes 128 gets (8 slots each), and deletes move nothing. */
enum { MOVE_QUEUES = 832 };

static slotq_key numbered_key(int i) {
  slotq_key k;
  memset(&k, 0, sizeof(k));
  memcpy(k.bytes, &i, sizeof(i));
  k.bytes[19] = 0x5a;
  return k;
}

static int g_move_closes;
static int count_close(void *slot) {
  (void)slot;
  g_move_closes++;
  return 0;
}

static int get_numbered(slotq_mgr_t *m, int i, slotq_queue_t **q) {
  slotq_key k = numbered_key(i);
  int is_new = -1;
  assert_ok(slotq_mgr_get_by_key(m, &k, q, &is_new));
  assert_ok(slotq_queue_exit_state(*q, SLOTQ_WAITER));
  return is_new;
}

/* Gets keys [from, to): each must be a new queue, or the one in held[]. */
static void get_range(slotq_mgr_t *m, slotq_queue_t **held, int from, int to, int is_new) {
  for (int i = from; i < to; i++) {
    slotq_queue_t *q;
    assert_int_equal(get_numbered(m, i, &q), is_new);
    if (is_new) {
      assert_ptr_not_equal(q, held[i]);
    } else {
      assert_ptr_equal(q, held[i]);
    }
    slotq_queue_release(q);
  }
}

static size_t metric_queues(slotq_mgr_t *m) {
  char *text;
  size_t len, n = 0;
  assert_ok(slotq_mgr_metrics(m, &text, &len));
  for (const char *p = text; (p = strstr(p, "\nslotq_slots_queued_total{")) != NULL; p++) n++;
  slotq_free(text);
  return n;
}

static void deletes_and_gets_during_a_table_move(void **state) {
  (void)state;
  static const slotq_slot_ops ops = {NULL, count_close, NULL, NULL, NULL};
  g_move_closes = 0;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  static slotq_queue_t *held[MOVE_QUEUES];
  for (int i = 0; i < MOVE_QUEUES; i++) {
    assert_int_equal(get_numbered(m, i, &held[i]), 1);
    slotq_token_t *tok; /* an idle slot: its close tells when the queue shuts down */
    assert_ok(slotq_queue_slot(held[i], NULL, &ops, &tok));
    slotq_token_release(tok);
  }
  slotq_queue_t *q;
  assert_int_equal(get_numbered(m, MOVE_QUEUES, &q), 1); /* doubles the table */
  slotq_queue_release(q);

  /* Not one entry moved yet: these deletes find theirs in the old table. */
  for (int i = 0; i < 100; i++) assert_ok(slotq_mgr_delete(m, held[i]));
  for (int i = 0; i < 100; i++) assert_status(SLOTQ_ENOTFOUND, slotq_mgr_delete(m, held[i]));
  size_t count = 0;
  assert_ok(slotq_mgr_count(m, &count));
  assert_int_equal(count, MOVE_QUEUES + 1 - 100);
  assert_int_equal(metric_queues(m), count);

  /* 64 gets move half of the old slots; then deletes hit entries in both
   * tables, and the gets after them (the move ending halfway through) must
   * not find a deleted queue in the slot it was moved from. */
  get_range(m, held, 100, 164, 0);
  assert_int_equal(metric_queues(m), count);
  for (int i = 100; i < 300; i++) assert_ok(slotq_mgr_delete(m, held[i]));
  get_range(m, held, 100, 300, 1);
  get_range(m, held, 0, 100, 1);
  get_range(m, held, 300, MOVE_QUEUES, 0);
  assert_ok(slotq_mgr_count(m, &count));
  assert_int_equal(count, MOVE_QUEUES + 1);
  assert_int_equal(metric_queues(m), count);

  /* Every queue with a slot shut down once: the deleted ones when their
   * last holder lets go, the others when the manager goes. */
  assert_int_equal(g_move_closes, 0);
  for (int i = 0; i < 300; i++) slotq_queue_release(held[i]);
  assert_int_equal(g_move_closes, 300);
  for (int i = 300; i < MOVE_QUEUES; i++) slotq_queue_release(held[i]);
  slotq_mgr_destroy(m);
  assert_int_equal(g_move_closes, MOVE_QUEUES);
}

/* Random gets and deletes over a few thousand keys, through many doublings
 * and the moves after them, agree with a plain array of what should be in
 * the manager. */
static void gets_and_deletes_agree_with_a_model(void **state) {
  (void)state;
  enum { KEYS = 6000, STEPS = 200000 };
  static slotq_queue_t *model[KEYS]; /* the manager's queue of key i, held */
  memset(model, 0, sizeof(model));
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  uint64_t x = 0x9e3779b97f4a7c15u;
  size_t in = 0;
  for (int step = 0; step < STEPS; step++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    /* Keys come in slowly at first, so that the table doubles many times
     * with deletes mixed in. */
    int span = step < STEPS / 2 ? 64 + step / 16 : KEYS;
    if (span > KEYS) span = KEYS;
    int i = (int)((x >> 8) % (uint64_t)span);
    slotq_queue_t *q;
    if ((x & 3) != 0 || model[i] == NULL) {
      assert_int_equal(get_numbered(m, i, &q), model[i] == NULL);
      if (model[i] == NULL) {
        model[i] = q;
        in++;
      } else {
        assert_ptr_equal(q, model[i]);
        slotq_queue_release(q);
      }
    } else {
      assert_ok(slotq_mgr_delete(m, model[i]));
      slotq_queue_release(model[i]);
      model[i] = NULL;
      in--;
    }
    if (step % 4096 == 0) {
      size_t count = 0;
      assert_ok(slotq_mgr_count(m, &count));
      assert_int_equal(count, in);
    }
  }
  for (int i = 0; i < KEYS; i++) {
    if (model[i] != NULL) slotq_queue_release(model[i]);
  }
  slotq_mgr_destroy(m);
}

/* Keys the table cannot tell apart by its tag (their first 4 bytes, which
 * also pick the home slot) must still be told apart by the whole key, and
 * deleting one from the middle of such a run must leave the rest findable,
 * through a growth of the table and back. */
static slotq_key colliding_key(int group, int member) {
  slotq_key k;
  memset(&k, 0, sizeof(k));
  k.bytes[0] = (unsigned char)group; /* the tag: same for every member */
  k.bytes[19] = (unsigned char)member;
  k.bytes[10] = (unsigned char)(member * 7);
  return k;
}

static void keys_with_one_tag_stay_apart(void **state) {
  (void)state;
  enum { GROUPS = 4, MEMBERS = 40 };
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  static slotq_queue_t *qs[GROUPS][MEMBERS];
  for (int i = 0; i < MEMBERS; i++) {
    for (int g = 0; g < GROUPS; g++) {
      slotq_key k = colliding_key(g, i);
      int is_new = 0;
      assert_ok(slotq_mgr_get_by_key(m, &k, &qs[g][i], &is_new));
      assert_int_equal(is_new, 1);
      assert_ok(slotq_queue_exit_state(qs[g][i], SLOTQ_WAITER));
    }
  }
  size_t count = 0;
  assert_ok(slotq_mgr_count(m, &count));
  assert_int_equal(count, GROUPS * MEMBERS);
  for (int g = 0; g < GROUPS; g++) {
    for (int i = 1; i < MEMBERS; i += 3) assert_ok(slotq_mgr_delete(m, qs[g][i]));
  }
  for (int g = 0; g < GROUPS; g++) {
    for (int i = 0; i < MEMBERS; i++) {
      slotq_key k = colliding_key(g, i);
      slotq_queue_t *q;
      int is_new = -1;
      assert_ok(slotq_mgr_get_by_key(m, &k, &q, &is_new));
      int deleted = i % 3 == 1;
      assert_int_equal(is_new, deleted);
      if (!deleted) assert_ptr_equal(q, qs[g][i]);
      unsigned char buf[SLOTQ_KEY_SIZE];
      size_t len = 0;
      assert_ok(slotq_queue_key(q, buf, sizeof(buf), &len));
      assert_memory_equal(buf, k.bytes, SLOTQ_KEY_SIZE);
      assert_ok(slotq_queue_exit_state(q, SLOTQ_WAITER));
      slotq_queue_release(q);
    }
  }
  for (int g = 0; g < GROUPS; g++) {
    for (int i = 0; i < MEMBERS; i++) slotq_queue_release(qs[g][i]);
  }
  slotq_mgr_destroy(m);
}

/* Queues live on after their manager and after deletion, for as long as a
 * handle holds them, and the memory of deleted ones is used again. */
static void queues_outlive_their_manager(void **state) {
  (void)state;
  enum { N = 600 }; /* more than one chunk of the queue arena */
  static slotq_queue_t *qs[N];
  for (int round = 0; round < 3; round++) {
    slotq_mgr_t *m;
    assert_ok(slotq_mgr_create(&m));
    for (int i = 0; i < N; i++) {
      slotq_key k = colliding_key(i % 256, i / 256 + round * 8);
      assert_ok(slotq_mgr_get_by_key(m, &k, &qs[i], NULL));
      assert_ok(slotq_queue_exit_state(qs[i], SLOTQ_WAITER));
    }
    slotq_mgr_destroy(m);
    for (int i = 0; i < N; i++) {
      slotq_key k = colliding_key(i % 256, i / 256 + round * 8);
      unsigned char buf[SLOTQ_KEY_SIZE];
      size_t len = 0;
      assert_ok(slotq_queue_key(qs[i], buf, sizeof(buf), &len));
      assert_memory_equal(buf, k.bytes, SLOTQ_KEY_SIZE);
      test_slot slot;
      test_slot_init(&slot);
      slotq_token_t *t;
      assert_ok(slotq_queue_slot(qs[i], &slot, &test_ops, &t));
      assert_ok(slotq_eject(qs[i], t));
      assert_int_equal(atomic_load(&slot.closes), 1);
      slotq_token_release(t);
      assert_int_equal(atomic_load(&slot.releases), 1);
      slotq_queue_release(qs[i]);
    }
  }
}

static void waiter_cap_sheds_load(void **state) {
  (void)state;
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  assert_ok(slotq_mgr_set_max_waiters(m, 2));
  slotq_call c = call_for("/cap", NULL, 0);
  slotq_queue_t *q[3];
  assert_ok(slotq_mgr_get(m, &c, &q[0], NULL));
  assert_ok(slotq_mgr_get(m, &c, &q[1], NULL));
  assert_status(SLOTQ_EOVERLOAD, slotq_mgr_get(m, &c, &q[2], NULL));
  slotq_stats s;
  assert_ok(slotq_queue_stats(q[0], &s));
  assert_int_equal(s.states[SLOTQ_WAITER], 2);
  assert_ok(slotq_queue_exit_state(q[0], SLOTQ_WAITER));
  assert_ok(slotq_mgr_get(m, &c, &q[2], NULL));
  for (int i = 0; i < 3; i++) slotq_queue_release(q[i]);
  slotq_mgr_destroy(m);
}

/* Concurrent gets and deletes: a queue a caller got (and is a Waiter on)
 * is never deleted under it. */
typedef struct race_arg {
  slotq_mgr_t *mgr;
  atomic_int stop;
  atomic_int violations;
  atomic_long gets, deletes;
} race_arg;

static void *getter(void *p) {
  race_arg *a = (race_arg *)p;
  slotq_call c = call_for("/race", NULL, 0);
  while (!atomic_load(&a->stop)) {
    slotq_queue_t *q;
    assert_ok(slotq_mgr_get(a->mgr, &c, &q, NULL));
    /* While we are a Waiter, the manager must still hold this queue. */
    slotq_queue_t *again;
    assert_ok(slotq_mgr_get(a->mgr, &c, &again, NULL));
    if (again != q) atomic_fetch_add(&a->violations, 1);
    assert_ok(slotq_queue_exit_state(again, SLOTQ_WAITER));
    slotq_queue_release(again);
    assert_ok(slotq_queue_exit_state(q, SLOTQ_WAITER));
    slotq_queue_release(q);
    atomic_fetch_add(&a->gets, 1);
  }
  return NULL;
}

static void *deleter(void *p) {
  race_arg *a = (race_arg *)p;
  slotq_key k;
  slotq_call c = call_for("/race", NULL, 0);
  assert_ok(slotq_call_key(&c, &k));
  while (!atomic_load(&a->stop)) {
    slotq_queue_t *q;
    assert_ok(slotq_mgr_get_by_key(a->mgr, &k, &q, NULL));
    assert_ok(slotq_queue_exit_state(q, SLOTQ_WAITER));
    if (slotq_mgr_delete(a->mgr, q) == SLOTQ_OK) atomic_fetch_add(&a->deletes, 1);
    slotq_queue_release(q);
  }
  return NULL;
}

static void concurrent_get_and_delete(void **state) {
  (void)state;
  race_arg a;
  memset(&a, 0, sizeof(a));
  assert_ok(slotq_mgr_create(&a.mgr));
  pthread_t th[4];
  pthread_create(&th[0], NULL, getter, &a);
  pthread_create(&th[1], NULL, getter, &a);
  pthread_create(&th[2], NULL, deleter, &a);
  pthread_create(&th[3], NULL, deleter, &a);
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  atomic_store(&a.stop, 1);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&a.violations), 0);
  assert_true(atomic_load(&a.gets) > 0);
  print_message("gets %ld, deletes %ld\n", atomic_load(&a.gets), atomic_load(&a.deletes));
  slotq_mgr_destroy(a.mgr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(get_creates_once_and_enters_waiter),
      cmocka_unit_test(config_order_does_not_matter),
      cmocka_unit_test(delete_only_when_idle),
      cmocka_unit_test(many_queues_grow_the_table),
      cmocka_unit_test(deletes_and_gets_during_a_table_move),
      cmocka_unit_test(gets_and_deletes_agree_with_a_model),
      cmocka_unit_test(keys_with_one_tag_stay_apart),
      cmocka_unit_test(queues_outlive_their_manager),
      cmocka_unit_test(waiter_cap_sheds_load),
      cmocka_unit_test(concurrent_get_and_delete),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
