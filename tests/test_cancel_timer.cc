/* The deadline timer lets go of a token as soon as nothing needs it fired:
 * not at its deadline, an hour later. Internal: it counts the timer's
 * deadlines (WatchedDeadlines), so it is built only with the static library. */
// cmocka needs these headers before its own, and declares no C linkage.
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
extern "C" {
#include <cmocka.h>
}
// clang-format on

#include <atomic>
#include <thread>

#include "cancel.h"
#include "clock.h"
#include "deadline_timer.h"

namespace {

using slotq::CancelNode;
using slotq::CancelToken;
using slotq::NowNs;
using slotq::WatchedDeadlines;

constexpr int64_t kHourNs = int64_t{3600} * 1000000000;

void Nothing(CancelNode *, int) {}

/* A callback that needs the timer is registered while another thread
 * cancels the token. The registration used to hand the token to the timer
 * after it let go of the token's lock, so a cancel in between took nothing
 * out of the timer, which then held the token until its deadline. */
void a_registration_racing_a_cancel_leaves_nothing_in_the_timer(void **state) {
  (void)state;
  constexpr int kRounds = 20000;
  CancelToken *tokens[2] = {nullptr, nullptr};
  std::atomic<int> round{-1}, done{0};
  std::thread canceller([&] {
    for (int i = 0; i < kRounds; i++) {
      while (round.load(std::memory_order_acquire) != i) {
      }
      tokens[i & 1]->Cancel();
      done.fetch_add(1, std::memory_order_release);
    }
  });
  for (int i = 0; i < kRounds; i++) {
    CancelToken *t = CancelToken::Create(nullptr, NowNs() + kHourNs);
    assert_non_null(t);
    tokens[i & 1] = t;
    CancelNode node(&Nothing);
    round.store(i, std::memory_order_release);
    t->Register(&node, true);
    while (done.load(std::memory_order_acquire) != i + 1) {
    }
    t->Unregister(&node);
    t->Release();
  }
  canceller.join();
  assert_int_equal(WatchedDeadlines(), 0);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_registration_racing_a_cancel_leaves_nothing_in_the_timer),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
