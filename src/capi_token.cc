// C API: slot tokens.
#include "capi.h"

using namespace slotq;

extern "C" {

int slotq_token_retain(slotq_token_t *token) {
  if (token == nullptr) return SLOTQ_EINVAL;
  AsToken(token)->Retain();
  return SLOTQ_OK;
}

void slotq_token_release(slotq_token_t *token) {
  if (token != nullptr) GuardVoid([&] { AsToken(token)->Release(); });
}

int slotq_token_id(const slotq_token_t *token, uint64_t *id) {
  if (token == nullptr || id == nullptr) return SLOTQ_EINVAL;
  *id = AsToken(token)->id;
  return SLOTQ_OK;
}

int slotq_token_slot(const slotq_token_t *token, void **slot) {
  if (token == nullptr || slot == nullptr) return SLOTQ_EINVAL;
  *slot = AsToken(token)->slot;
  return SLOTQ_OK;
}

int slotq_token_state_get(const slotq_token_t *token, int *state, int *closed) {
  if (token == nullptr || state == nullptr) return SLOTQ_EINVAL;
  uint32_t v = AsToken(token)->word.load(std::memory_order_acquire);
  *state = static_cast<int>(v & kStateMask);
  if (closed != nullptr) *closed = (v & kClosed) != 0 ? 1 : 0;
  return SLOTQ_OK;
}

int slotq_token_acquire(slotq_token_t *token) {
  if (token == nullptr) return SLOTQ_EINVAL;
  return AsToken(token)->Acquire();
}

int slotq_token_wait(slotq_token_t *token, int64_t timeout_ns, slotq_cancel_t *cancel, int *state) {
  if (token == nullptr || !ValidTimeout(timeout_ns)) return SLOTQ_EINVAL;
  Token *t = AsToken(token);
  int rc = t->Wait(DeadlineOf(timeout_ns), AsCancel(cancel), false);
  if (state != nullptr) *state = t->State();
  return rc;
}

int slotq_token_wait_closed(slotq_token_t *token, int64_t timeout_ns, slotq_cancel_t *cancel) {
  if (token == nullptr || !ValidTimeout(timeout_ns)) return SLOTQ_EINVAL;
  return AsToken(token)->Wait(DeadlineOf(timeout_ns), AsCancel(cancel), true);
}

int slotq_token_exec(slotq_token_t *token, slotq_cancel_t *cancel, void *call_arg, int *exec_rc) {
  if (token == nullptr) return SLOTQ_EINVAL;
  return AsToken(token)->Exec(AsCancel(cancel), call_arg, exec_rc);
}

int slotq_token_error(slotq_token_t *token, int *slot_err) {
  if (token == nullptr || slot_err == nullptr) return SLOTQ_EINVAL;
  *slot_err = AsToken(token)->Error();
  return SLOTQ_OK;
}

int slotq_token_close(slotq_token_t *token, int *close_rc) {
  if (token == nullptr) return SLOTQ_EINVAL;
  return AsToken(token)->Close(close_rc);
}

}  // extern "C"
