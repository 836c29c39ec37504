// The slot key of a call: the seed's getSlotQueueKey.
#ifndef SLOTQ_SRC_KEY_H
#define SLOTQ_SRC_KEY_H

#include "slotq.h"

namespace slotq {

/// SLOTQ_OK, SLOTQ_EINVAL (bad strings, duplicate config keys) or SLOTQ_ENOMEM.
int CallKey(const slotq_call &call, slotq_key *out);

/// Whether a string is usable: a NULL pointer only with a zero length.
inline bool ValidStr(const slotq_str &s) { return s.ptr != nullptr || s.len == 0; }

}  // namespace slotq

#endif  // SLOTQ_SRC_KEY_H
