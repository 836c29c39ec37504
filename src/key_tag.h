// KeyTag: a manager's seeded 32-bit hash of a slot key, which both picks the
// key's home slot in the manager's table and screens probes (see manager.h).
//
// Why seeded, and why over all 20 bytes: slotq_mgr_get_by_key takes any
// bytes, and a key whose leading bytes repeat (an id in the last bytes, or
// a digest prefix crafted by whoever controls call configurations) must not
// pile onto one home slot; with the key's first 4 bytes as the hash, 20,000
// such keys cost 27 us a get instead of 0.5 us. Each manager draws its own
// secret, so nobody outside can aim keys at one slot.
#ifndef SLOTQ_SRC_KEY_TAG_H
#define SLOTQ_SRC_KEY_TAG_H

#include <stdint.h>
#include <string.h>

#include "slotq.h"

namespace slotq {

class KeyTag {
 public:
  /// A tagger with a fresh secret from getrandom.
  static KeyTag Random();
  /// Random()'s fallback when the kernel has no entropy to give (early boot)
  /// or no getrandom: a secret still different per manager and per run,
  /// which keeps keys from lining up by accident, though not from an
  /// attacker who can guess the clock.
  static KeyTag WithoutEntropy();

  /// The key's tag, mixed from all SLOTQ_KEY_SIZE bytes.
  uint32_t operator()(const unsigned char *key) const {
    static_assert(SLOTQ_KEY_SIZE == 20, "read as 8 + 8 + 4 bytes");
    uint64_t a, b;
    uint32_t c;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    memcpy(&c, key + 16, 4);
    // Two rounds of a folded 64x64->128 multiply of secret-masked words (the
    // mixing step of wyhash): two multiplies, no branch.
    uint64_t h = Fold(a ^ secret_[0], b ^ secret_[1]);
    h = Fold(h ^ secret_[2], c ^ secret_[3]);
    // The second round alone leaves keys that differ only in a counter in
    // their last bytes structured in the low bits (a multiply by a constant
    // maps consecutive values to an arithmetic progression), so they pile
    // into runs in the table: a final avalanche (MurmurHash3's fmix64).
    h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
    h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return static_cast<uint32_t>(h ^ (h >> 32));
  }

 private:
  static uint64_t Fold(uint64_t x, uint64_t y) {
    unsigned __int128 p = static_cast<unsigned __int128>(x) * y;
    return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
  }

  uint64_t secret_[4] = {};
};

}  // namespace slotq

#endif  // SLOTQ_SRC_KEY_TAG_H
