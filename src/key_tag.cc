#include "key_tag.h"

#include <sys/random.h>
#include <time.h>

#include <atomic>

namespace slotq {
namespace {

// SplitMix64's output step: spreads a weak seed over all 64 bits.
uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

KeyTag KeyTag::Random() {
  KeyTag t;
  if (getrandom(t.secret_, sizeof(t.secret_), GRND_NONBLOCK) == sizeof(t.secret_)) return t;
  return WithoutEntropy();
}

KeyTag KeyTag::WithoutEntropy() {
  KeyTag t;
  static std::atomic<uint64_t> counter{0};
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t z = static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
  z ^= reinterpret_cast<uintptr_t>(&t) ^ (counter.fetch_add(1) << 48);
  for (uint64_t &s : t.secret_) {
    z += 0x9e3779b97f4a7c15ULL;
    s = Mix64(z);
  }
  return t;
}

}  // namespace slotq
