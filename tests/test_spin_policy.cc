/* How waits spend their spin budgets. Internal: it calls BlockOn and reads
 * SpinPolicy, so it is built only with the static library. */
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

#include "clock.h"
#include "wait.h"

namespace {

using slotq::BlockOn;
using slotq::NowNs;
using slotq::SpinPolicy;
using slotq::WaitKind;

bool Never(uint32_t payload) { return payload == 0x7fff; }

/* A poll (timeout 0: its deadline has passed when it starts) must not
 * spin: a spin that cannot succeed counts as a failed one and halves the
 * budget of the waits that do pay off. Every timeout-0 poll once did. */
void a_poll_leaves_the_spin_budget_alone(void **state) {
  (void)state;
  std::atomic<uint32_t> word{0};
  int64_t before = SpinPolicy::BudgetNs(WaitKind::kTrigger);
  assert_true(before > 0); /* the initial budget: nothing else waits in this process */
  for (int i = 0; i < 8; i++) {
    assert_int_equal(BlockOn(WaitKind::kTrigger, &word, Never, NowNs(), nullptr, nullptr),
                     SLOTQ_ETIMEDOUT);
  }
  assert_int_equal(SpinPolicy::BudgetNs(WaitKind::kTrigger), before);
}

/* A wait with a timeout still spins and sleeps for its whole timeout. */
void a_timed_wait_lasts_its_timeout(void **state) {
  (void)state;
  std::atomic<uint32_t> word{0};
  int64_t t0 = NowNs();
  assert_int_equal(BlockOn(WaitKind::kTrigger, &word, Never, t0 + 2000000, nullptr, nullptr),
                   SLOTQ_ETIMEDOUT);
  assert_true(NowNs() - t0 >= 2000000);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_poll_leaves_the_spin_budget_alone),
      cmocka_unit_test(a_timed_wait_lasts_its_timeout),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
