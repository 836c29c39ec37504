#include "key.h"

#include <openssl/evp.h>
#include <string.h>

#include <algorithm>
#include <new>
#include <vector>

namespace slotq {
namespace {

// SHA-1 through EVP with the algorithm fetched once and one context per
// thread, reused: a fresh fetch and context per key would double its cost.
const EVP_MD *Sha1() {
  static EVP_MD *md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  return md;
}

struct ThreadCtx {
  EVP_MD_CTX *ctx = nullptr;
  ~ThreadCtx() { EVP_MD_CTX_free(ctx); }
};
thread_local ThreadCtx t_ctx;

// Feeds bytes to the digest through a small buffer, so that the many short
// fields of a call cost one EVP update, and long ones go straight through.
class Hasher {
 public:
  explicit Hasher(EVP_MD_CTX *ctx) : ctx_(ctx) {}

  bool Put(const void *p, size_t n) {
    if (n > sizeof(buf_) - len_) {
      if (!Flush()) return false;
      if (n >= sizeof(buf_)) return EVP_DigestUpdate(ctx_, p, n) == 1;
    }
    memcpy(buf_ + len_, p, n);
    len_ += n;
    return true;
  }
  bool PutByte(char c) { return Put(&c, 1); }
  bool PutStr(const slotq_str &s) { return (s.len == 0 || Put(s.ptr, s.len)) && PutByte('\0'); }
  bool PutInt(int64_t v) {
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    char *p = end;
    uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    do {
      *--p = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (v < 0) *--p = '-';
    return Put(p, static_cast<size_t>(end - p)) && PutByte('\0');
  }
  bool PutUint(uint64_t u) {
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    char *p = end;
    do {
      *--p = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    return Put(p, static_cast<size_t>(end - p)) && PutByte('\0');
  }
  bool Flush() {
    if (len_ != 0 && EVP_DigestUpdate(ctx_, buf_, len_) != 1) return false;
    len_ = 0;
    return true;
  }

 private:
  EVP_MD_CTX *ctx_;
  size_t len_ = 0;
  unsigned char buf_[512];
};

// Go's sort.Strings order: bytewise, a prefix first.
inline int CompareStr(const slotq_str &a, const slotq_str &b) {
  size_t n = a.len < b.len ? a.len : b.len;
  int c = n == 0 ? 0 : memcmp(a.ptr, b.ptr, n);
  if (c != 0) return c;
  return a.len < b.len ? -1 : (a.len > b.len ? 1 : 0);
}

int HashSorted(Hasher *h, const slotq_kv *cfg, const uint32_t *order, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const slotq_kv &kv = cfg[order[i]];
    if (i > 0 && CompareStr(cfg[order[i - 1]].key, kv.key) == 0) return SLOTQ_EINVAL;
    if (!h->PutStr(kv.key) || !h->PutStr(kv.value)) return SLOTQ_EINTERNAL;
  }
  return SLOTQ_OK;
}

}  // namespace

int CallKey(const slotq_call &call, slotq_key *out) {
  if (!ValidStr(call.app_name) || !ValidStr(call.path) || !ValidStr(call.image) ||
      !ValidStr(call.format) || (call.config == nullptr && call.config_len != 0) ||
      call.config_len > UINT32_MAX) {
    return SLOTQ_EINVAL;
  }
  for (size_t i = 0; i < call.config_len; i++) {
    if (!ValidStr(call.config[i].key) || !ValidStr(call.config[i].value)) return SLOTQ_EINVAL;
  }
  const EVP_MD *md = Sha1();
  if (md == nullptr) return SLOTQ_EINTERNAL;
  ThreadCtx &tc = t_ctx;
  if (tc.ctx == nullptr && (tc.ctx = EVP_MD_CTX_new()) == nullptr) return SLOTQ_ENOMEM;
  if (EVP_DigestInit_ex(tc.ctx, md, nullptr) != 1) return SLOTQ_EINTERNAL;

  Hasher h(tc.ctx);
  if (!h.PutStr(call.app_name) || !h.PutStr(call.path) || !h.PutStr(call.image) ||
      !h.PutInt(call.timeout) || !h.PutInt(call.idle_timeout) || !h.PutUint(call.memory) ||
      !h.PutStr(call.format)) {
    return SLOTQ_EINTERNAL;
  }

  // Sort the config entries by key: insertion sort of indexes on the stack
  // for the usual handful, std::sort beyond.
  size_t n = call.config_len;
  const slotq_kv *cfg = call.config;
  auto less = [cfg](uint32_t a, uint32_t b) { return CompareStr(cfg[a].key, cfg[b].key) < 0; };
  int rc;
  if (n <= 32) {
    uint32_t order[32];
    for (uint32_t i = 0; i < n; i++) {
      uint32_t j = i;
      while (j > 0 && less(i, order[j - 1])) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = i;
    }
    rc = HashSorted(&h, cfg, order, n);
  } else {
    std::vector<uint32_t> order;
    try {
      order.resize(n);
    } catch (const std::bad_alloc &) {
      return SLOTQ_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    std::sort(order.begin(), order.end(), less);
    rc = HashSorted(&h, cfg, order.data(), n);
  }
  if (rc != SLOTQ_OK) return rc;

  unsigned int len = 0;
  if (!h.Flush() || EVP_DigestFinal_ex(tc.ctx, out->bytes, &len) != 1 || len != SLOTQ_KEY_SIZE) {
    return SLOTQ_EINTERNAL;
  }
  return SLOTQ_OK;
}

}  // namespace slotq
