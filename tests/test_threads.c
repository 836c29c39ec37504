/* Several threads queue, dequeue, acquire and eject at once; at the end
 * every slot is accounted for exactly once. (The long randomized version,
 * with managers, deadlines and a watchdog, is tests/stress.) */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "testutil.h"

enum { PRODUCERS = 4, CONSUMERS = 4 };

/* 3000 slots per producer; 200 under valgrind (tests/stress/valgrind.sh),
 * which runs one thread at a time, fifty times slower. */
static int slots_per_producer(void) {
  return getenv("SLOTQ_TEST_UNDER_VALGRIND") != NULL ? 200 : 3000;
}

typedef struct rec_slot {
  atomic_int acquired; /* times a caller acquired it */
  atomic_int ejected;  /* times a container ejected it */
  atomic_int closes;   /* times its close callback ran */
  atomic_int used_after_eject;
} rec_slot;

static int rec_close(void *s) {
  atomic_fetch_add(&((rec_slot *)s)->closes, 1);
  return 0;
}
static int rec_exec(void *s, slotq_cancel_t *c, void *arg) {
  (void)c;
  (void)arg;
  rec_slot *r = (rec_slot *)s;
  if (atomic_load(&r->ejected) != 0) atomic_fetch_add(&r->used_after_eject, 1);
  return 0;
}
static const slotq_slot_ops rec_ops = {rec_exec, rec_close, NULL, NULL, NULL};

typedef struct world {
  slotq_queue_t *q;
  rec_slot *slots;
  atomic_int producers_left;
  pthread_mutex_t mu; /* guards live[] */
  slotq_token_t *live[PRODUCERS];
  atomic_long random_ejects;
} world;

typedef struct producer_arg {
  world *w;
  int index;
} producer_arg;

static void *producer(void *p) {
  producer_arg *a = (producer_arg *)p;
  world *w = a->w;
  for (int i = 0; i < slots_per_producer(); i++) {
    rec_slot *s = &w->slots[a->index * slots_per_producer() + i];
    slotq_token_t *t;
    assert_ok(slotq_queue_slot(w->q, s, &rec_ops, &t));
    pthread_mutex_lock(&w->mu);
    assert_ok(slotq_token_retain(t));
    w->live[a->index] = t;
    pthread_mutex_unlock(&w->mu);
    int st = -1;
    int rc = slotq_token_wait(t, (i % 7) * 100000, NULL, &st); /* short idle timeouts */
    if (rc == SLOTQ_ETIMEDOUT) {
      if (slotq_eject(w->q, t) == SLOTQ_OK) {
        atomic_fetch_add(&s->ejected, 1);
      } else {
        assert_ok(slotq_token_wait(t, SLOTQ_FOREVER, NULL, &st)); /* a caller won: serve */
      }
    } else {
      assert_ok(rc);
    }
    assert_ok(slotq_token_state_get(t, &st, NULL));
    /* Whoever ended it, the close callback has run or will: wait for it. */
    assert_ok(slotq_token_wait_closed(t, SLOTQ_FOREVER, NULL));
    pthread_mutex_lock(&w->mu);
    w->live[a->index] = NULL;
    pthread_mutex_unlock(&w->mu);
    slotq_token_release(t);
    slotq_token_release(t);
  }
  atomic_fetch_sub(&w->producers_left, 1);
  return NULL;
}

static void *consumer(void *p) {
  world *w = (world *)p;
  while (atomic_load(&w->producers_left) > 0) {
    slotq_dequeuer_t *d;
    assert_ok(slotq_start_dequeuer(w->q, NULL, &d));
    slotq_token_t *t;
    int rc = slotq_dequeuer_next(d, MS(2), NULL, &t);
    if (rc == SLOTQ_OK) {
      if (slotq_token_acquire(t) == SLOTQ_OK) {
        void *sp;
        assert_ok(slotq_token_slot(t, &sp));
        rec_slot *s = (rec_slot *)sp;
        atomic_fetch_add(&s->acquired, 1);
        assert_ok(slotq_token_exec(t, NULL, NULL, NULL));
        assert_ok(slotq_token_close(t, NULL));
      }
      slotq_token_release(t);
    } else {
      assert_int_equal(rc, SLOTQ_ETIMEDOUT);
    }
    slotq_dequeuer_free(d); /* returns an unacquired lent token */
  }
  return NULL;
}

/* Ejects whatever token a producer currently offers, at random. */
static void *ejector(void *p) {
  world *w = (world *)p;
  unsigned seed = 12345;
  while (atomic_load(&w->producers_left) > 0) {
    pthread_mutex_lock(&w->mu);
    slotq_token_t *t = w->live[rand_r(&seed) % PRODUCERS];
    if (t != NULL) assert_ok(slotq_token_retain(t));
    pthread_mutex_unlock(&w->mu);
    if (t == NULL) {
      sched_yield(); /* nothing offered right now: let the producers run */
      continue;
    }
    if (slotq_eject(w->q, t) == SLOTQ_OK) {
      void *sp;
      assert_ok(slotq_token_slot(t, &sp));
      atomic_fetch_add(&((rec_slot *)sp)->ejected, 1);
      atomic_fetch_add(&w->random_ejects, 1);
    }
    slotq_token_release(t);
  }
  return NULL;
}

static void every_slot_ends_exactly_once(void **state) {
  (void)state;
  world w;
  memset(&w, 0, sizeof(w));
  w.q = test_queue();
  w.slots = calloc(PRODUCERS * slots_per_producer(), sizeof(rec_slot));
  assert_non_null(w.slots);
  pthread_mutex_init(&w.mu, NULL);
  atomic_store(&w.producers_left, PRODUCERS);
  pthread_t pt[PRODUCERS], ct[CONSUMERS], et;
  producer_arg pa[PRODUCERS];
  for (int i = 0; i < PRODUCERS; i++) {
    pa[i] = (producer_arg){&w, i};
    pthread_create(&pt[i], NULL, producer, &pa[i]);
  }
  for (int i = 0; i < CONSUMERS; i++) pthread_create(&ct[i], NULL, consumer, &w);
  pthread_create(&et, NULL, ejector, &w);
  for (int i = 0; i < PRODUCERS; i++) pthread_join(pt[i], NULL);
  for (int i = 0; i < CONSUMERS; i++) pthread_join(ct[i], NULL);
  pthread_join(et, NULL);

  long acquired = 0, ejected = 0;
  for (int i = 0; i < PRODUCERS * slots_per_producer(); i++) {
    rec_slot *s = &w.slots[i];
    int a = atomic_load(&s->acquired), e = atomic_load(&s->ejected);
    if (a + e != 1 || atomic_load(&s->closes) != 1 || atomic_load(&s->used_after_eject) != 0) {
      fail_msg("slot %d: acquired %d, ejected %d, closed %d, used after eject %d", i, a, e,
               atomic_load(&s->closes), atomic_load(&s->used_after_eject));
    }
    acquired += a;
    ejected += e;
  }
  print_message("%d slots: %ld acquired, %ld ejected (%ld by the random ejector)\n",
                PRODUCERS * slots_per_producer(), acquired, ejected, atomic_load(&w.random_ejects));
  size_t len = 9;
  assert_ok(slotq_queue_len(w.q, &len));
  assert_int_equal(len, 0);
  slotq_stats st;
  assert_ok(slotq_queue_stats(w.q, &st));
  assert_int_equal(st.states[SLOTQ_RUNNER], 0);
  pthread_mutex_destroy(&w.mu);
  free(w.slots);
  slotq_queue_release(w.q);
}

/* The last handle and the last token of a queue are released on two threads
 * at once, many times: the queue's memory must be freed exactly once, after
 * both, and nothing may touch it once the other thread could have freed it.
 * The token thread then makes and drops a queue of its own at once, which
 * reuses the freed block: ThreadSanitizer reports a read of the queue by
 * the handle thread after that thread's last step, and the sanitizers and
 * valgrind watch the memory. The arena hands out the blocks freed last
 * first, so the block must be among the next three queues made, and only
 * once (twice if it was freed twice). */
typedef struct race {
  slotq_queue_t *q;
  slotq_token_t *queued, *acquired;
  atomic_int go;
} race;

static void *race_release_handle(void *p) {
  race *r = (race *)p;
  while (atomic_load(&r->go) == 0) {
  }
  slotq_queue_release(r->q);
  return NULL;
}

static void *race_release_tokens(void *p) {
  race *r = (race *)p;
  while (atomic_load(&r->go) == 0) {
  }
  assert_ok(slotq_token_close(r->acquired, NULL));
  slotq_token_release(r->acquired);
  slotq_token_release(r->queued);
  slotq_queue_t *reuse;
  assert_ok(slotq_queue_create("reuse", 5, &reuse));
  slotq_queue_release(reuse);
  return NULL;
}

static void queue_memory_is_freed_once_when_handle_and_tokens_race(void **state) {
  (void)state;
  int rounds = getenv("SLOTQ_TEST_UNDER_VALGRIND") != NULL ? 100 : 3000;
  for (int i = 0; i < rounds; i++) {
    race r = {.go = 0};
    test_slot s[2];
    test_slot_init(&s[0]);
    test_slot_init(&s[1]);
    assert_ok(slotq_queue_create("race", 4, &r.q));
    assert_ok(slotq_queue_slot(r.q, &s[0], &test_ops, &r.queued));
    assert_ok(slotq_queue_slot(r.q, &s[1], &test_ops, &r.acquired));
    assert_ok(slotq_token_acquire(r.acquired));
    void *block = r.q;
    pthread_t a, b;
    pthread_create(&a, NULL, race_release_handle, &r);
    pthread_create(&b, NULL, race_release_tokens, &r);
    atomic_store(&r.go, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    /* The queued slot was discarded when the handle went, and each token
     * was freed once. */
    assert_int_equal(atomic_load(&s[0].closes), 1);
    assert_int_equal(atomic_load(&s[0].releases), 1);
    assert_int_equal(atomic_load(&s[1].releases), 1);
    slotq_queue_t *next[3];
    int found = 0;
    for (int k = 0; k < 3; k++) {
      assert_ok(slotq_queue_create("next", 4, &next[k]));
      found += (void *)next[k] == block;
    }
    if (found != 1 || next[0] == next[1] || next[1] == next[2] || next[0] == next[2]) {
      fail_msg("round %d: the queue's memory was %s", i, found == 0 ? "not freed" : "freed twice");
    }
    for (int k = 0; k < 3; k++) slotq_queue_release(next[k]);
  }
}

/* ---- per-thread caches -------------------------------------------------- */

/* The library keeps up to 32 freed tokens and 32 freed dequeuers per thread
 * for reuse (src/object_cache.h). Sanitizer builds have no such cache. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OBJECT_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define OBJECT_CACHE 0
#endif
#endif
#ifndef OBJECT_CACHE
#define OBJECT_CACHE 1
#endif

enum { CACHE_THREADS = 8, CACHE_EACH = 40 };
static const slotq_slot_ops no_ops = {NULL, NULL, NULL, NULL, NULL};

typedef struct cache_job {
  slotq_token_t *toks[CACHE_EACH];
  slotq_dequeuer_t *deqs[CACHE_EACH];
} cache_job;

/* Frees, on this thread, blocks the main thread allocated. */
static void *free_on_this_thread(void *p) {
  cache_job *j = (cache_job *)p;
  for (int i = 0; i < CACHE_EACH; i++) {
    slotq_dequeuer_free(j->deqs[i]);
    slotq_token_release(j->toks[i]);
  }
  return NULL;
}

/* A thread's cache goes back to malloc when the thread exits: blocks the
 * main thread allocated (malloc's main arena) and other threads freed into
 * their caches are counted in use again once those threads are gone. */
static void a_thread_s_cached_blocks_are_freed_when_it_exits(void **state) {
  (void)state;
  if (!OBJECT_CACHE) {
    print_message(
        "skipped: a sanitizer build has no per-thread cache (its leak check covers this)\n");
    skip();
  }
  if (getenv("SLOTQ_TEST_UNDER_VALGRIND") != NULL) {
    print_message("skipped: under valgrind, whose malloc mallinfo2 does not describe\n");
    skip();
  }
  slotq_queue_t *q = test_queue();
  static cache_job jobs[CACHE_THREADS];
  size_t before = mallinfo2().uordblks;
  for (int t = 0; t < CACHE_THREADS; t++) {
    for (int i = 0; i < CACHE_EACH; i++) {
      assert_ok(slotq_queue_slot(q, NULL, &no_ops, &jobs[t].toks[i]));
      assert_ok(slotq_eject(q, jobs[t].toks[i])); /* the caller's is the last reference */
      assert_ok(slotq_start_dequeuer(q, NULL, &jobs[t].deqs[i]));
    }
  }
  pthread_t th[CACHE_THREADS];
  for (int t = 0; t < CACHE_THREADS; t++)
    pthread_create(&th[t], NULL, free_on_this_thread, &jobs[t]);
  for (int t = 0; t < CACHE_THREADS; t++) pthread_join(th[t], NULL);
  size_t after = mallinfo2().uordblks;
  /* Kept in the exited threads' caches, 8 x 32 tokens and dequeuers would
   * be over 60 KB; allow 16 KB for whatever else malloc did meanwhile. */
  if (after > before + 16384) {
    fail_msg("%zu bytes more in use after the threads exited", after - before);
  }
  slotq_queue_release(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_slot_ends_exactly_once),
      cmocka_unit_test(queue_memory_is_freed_once_when_handle_and_tokens_race),
      cmocka_unit_test(a_thread_s_cached_blocks_are_freed_when_it_exits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
