// C API: version, status codes, time and slot keys.
#include <string.h>

#include "capi.h"
#include "key.h"

using namespace slotq;

#define SLOTQ_STR2_(x) #x
#define SLOTQ_STR_(x) SLOTQ_STR2_(x)

// The X-macro table and the enum must agree.
#define SLOTQ_CHECK_(name, value, message) \
  static_assert(SLOTQ_##name == (value), "SLOTQ_STATUS_MAP disagrees with slotq_status");
SLOTQ_STATUS_MAP(SLOTQ_CHECK_)
#undef SLOTQ_CHECK_

extern "C" {

unsigned slotq_version(void) { return SLOTQ_VERSION_NUMBER; }

const char *slotq_version_string(void) {
  return SLOTQ_STR_(SLOTQ_VERSION_MAJOR) "." SLOTQ_STR_(SLOTQ_VERSION_MINOR) "." SLOTQ_STR_(
      SLOTQ_VERSION_PATCH);
}

const char *slotq_strerror(int status) {
  switch (status) {
#define SLOTQ_MESSAGE_(name, value, message) \
  case SLOTQ_##name:                         \
    return message;
    SLOTQ_STATUS_MAP(SLOTQ_MESSAGE_)
#undef SLOTQ_MESSAGE_
    default:
      return "unknown status";
  }
}

const char *slotq_status_name(int status) {
  switch (status) {
#define SLOTQ_NAME_(name, value, message) \
  case SLOTQ_##name:                      \
    return "SLOTQ_" #name;
    SLOTQ_STATUS_MAP(SLOTQ_NAME_)
#undef SLOTQ_NAME_
    default:
      return "SLOTQ_UNKNOWN";
  }
}

int64_t slotq_now_ns(void) { return NowNs(); }

int slotq_call_key(const slotq_call *call, slotq_key *out) {
  if (call == nullptr || out == nullptr) return SLOTQ_EINVAL;
  return Guard([&] { return CallKey(*call, out); });
}

int slotq_key_hex(const slotq_key *key, char *out) {
  if (key == nullptr || out == nullptr) return SLOTQ_EINVAL;
  static const char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < SLOTQ_KEY_SIZE; i++) {
    out[2 * i] = kDigits[key->bytes[i] >> 4];
    out[2 * i + 1] = kDigits[key->bytes[i] & 15];
  }
  out[2 * SLOTQ_KEY_SIZE] = '\0';
  return SLOTQ_OK;
}

}  // extern "C"
