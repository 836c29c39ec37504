// C API: cancellation tokens.
#include "capi.h"

using namespace slotq;

// A user's callback registration (slotq_cancel_reg_t).
struct slotq_cancel_reg_s {
  explicit slotq_cancel_reg_s(slotq_cancel_fn f, void *a, CancelToken *t)
      : node(&slotq_cancel_reg_s::Run), fn(f), arg(a), token(t) {}
  static void Run(CancelNode *n, int /*reason*/) {
    slotq_cancel_reg_s *r = reinterpret_cast<slotq_cancel_reg_s *>(n);
    r->fn(r->arg);
  }
  CancelNode node;  // first member: Run casts back from it
  slotq_cancel_fn fn;
  void *arg;
  CancelToken *token;  // holds a reference until unregistered
};

extern "C" {

int slotq_cancel_create(slotq_cancel_t **out) {
  if (out == nullptr) return SLOTQ_EINVAL;
  CancelToken *c = CancelToken::Create(nullptr, kNoDeadline);
  if (c == nullptr) return SLOTQ_ENOMEM;
  *out = AsHandle(c);
  return SLOTQ_OK;
}

int slotq_cancel_create_child(slotq_cancel_t *parent, slotq_cancel_t **out) {
  if (parent == nullptr || out == nullptr) return SLOTQ_EINVAL;
  CancelToken *c = CancelToken::Create(AsCancel(parent), kNoDeadline);
  if (c == nullptr) return SLOTQ_ENOMEM;
  *out = AsHandle(c);
  return SLOTQ_OK;
}

int slotq_cancel_create_deadline(slotq_cancel_t *parent, int64_t deadline_ns,
                                 slotq_cancel_t **out) {
  if (out == nullptr) return SLOTQ_EINVAL;
  CancelToken *c = CancelToken::Create(parent != nullptr ? AsCancel(parent) : nullptr, deadline_ns);
  if (c == nullptr) return SLOTQ_ENOMEM;
  *out = AsHandle(c);
  return SLOTQ_OK;
}

int slotq_cancel_cancel(slotq_cancel_t *cancel) {
  if (cancel == nullptr) return SLOTQ_EINVAL;
  AsCancel(cancel)->Cancel();
  return SLOTQ_OK;
}

int slotq_cancel_reason(const slotq_cancel_t *cancel, int *reason) {
  if (cancel == nullptr || reason == nullptr) return SLOTQ_EINVAL;
  *reason = AsCancel(cancel)->Reason();
  return SLOTQ_OK;
}

int slotq_cancel_on_cancel(slotq_cancel_t *cancel, slotq_cancel_fn fn, void *arg,
                           slotq_cancel_reg_t **reg) {
  if (cancel == nullptr || fn == nullptr || reg == nullptr) return SLOTQ_EINVAL;
  CancelToken *c = AsCancel(cancel);
  slotq_cancel_reg_t *r = new (std::nothrow) slotq_cancel_reg_s(fn, arg, c);
  if (r == nullptr) return SLOTQ_ENOMEM;
  c->Retain();
  // Publish the registration before fn can run, so that fn may unregister it.
  *reg = r;
  c->Register(&r->node, true);
  return SLOTQ_OK;
}

int slotq_cancel_unregister(slotq_cancel_reg_t *reg, int *ran) {
  if (reg == nullptr) return SLOTQ_EINVAL;
  CancelToken *c = reg->token;
  bool started = c->Unregister(&reg->node);
  if (ran != nullptr) *ran = started ? 1 : 0;
  delete reg;
  c->Release();
  return SLOTQ_OK;
}

int slotq_cancel_retain(slotq_cancel_t *cancel) {
  if (cancel == nullptr) return SLOTQ_EINVAL;
  AsCancel(cancel)->Retain();
  return SLOTQ_OK;
}

void slotq_cancel_release(slotq_cancel_t *cancel) {
  if (cancel != nullptr) AsCancel(cancel)->Release();
}

}  // extern "C"
