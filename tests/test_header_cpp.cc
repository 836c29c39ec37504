// The public header compiles as C++ (extern "C", no C-only constructs).
#include <slotq.h>

#include <type_traits>

static_assert(std::is_standard_layout<slotq_call>::value, "plain C struct");
static_assert(SLOTQ_STATE_COUNT == 3, "Runner, Starter, Waiter");

int main() {
  slotq_key key{};
  return slotq_key_hex(&key, nullptr) == SLOTQ_EINVAL ? 0 : 1;
}
