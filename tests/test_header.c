/* The public header compiles on its own as strict C99 (this file) and as
 * C++ (test_header_cpp.cc), and its types have the sizes bindings assume. */
#include <slotq.h>

#include <stddef.h>

_Static_assert(sizeof(slotq_key) == SLOTQ_KEY_SIZE, "a key is its 20 bytes");
_Static_assert(sizeof(slotq_str) == 2 * sizeof(void *), "pointer + length");
_Static_assert(offsetof(slotq_stats, latencies) == 6 * sizeof(uint64_t), "three arrays of three");
_Static_assert(SLOTQ_OK == 0, "success is zero");

int main(void) {
  slotq_str s = SLOTQ_STR("x");
  return (int)s.len - 1 + (slotq_version() == SLOTQ_VERSION_NUMBER ? 0 : 1);
}
