#include "key.h"

// SHA1_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but
// for a 270-byte key EVP's dispatch costs about half as much again as the
// hashing itself (measured with bench/compare, scenario key). They are still
// libcrypto's own SHA-1; builds of OpenSSL without deprecated functions get
// the EVP path below (and so does -DSLOTQ_SHA1_VIA_EVP=ON, which CI tests).
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

#include <algorithm>
#include <new>
#include <vector>

namespace slotq {
namespace {

#if !defined(OPENSSL_NO_DEPRECATED_3_0) && !defined(SLOTQ_SHA1_VIA_EVP)

// SHA-1 on a context on the caller's stack: no allocation, no shared state.
class Sha1 {
 public:
  bool Init() { return SHA1_Init(&ctx_) == 1; }
  bool Update(const void *p, size_t n) { return SHA1_Update(&ctx_, p, n) == 1; }
  bool Final(unsigned char *out) { return SHA1_Final(out, &ctx_) == 1; }

 private:
  SHA_CTX ctx_;
};

#else

// SHA-1 through EVP with the algorithm fetched once and one context per
// thread, reused: a fresh fetch and context per key would double its cost.
const EVP_MD *FetchedSha1() {
  static EVP_MD *md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  return md;
}

struct ThreadCtx {
  EVP_MD_CTX *ctx = nullptr;
  ~ThreadCtx() { EVP_MD_CTX_free(ctx); }
};
thread_local ThreadCtx t_ctx;

class Sha1 {
 public:
  bool Init() {
    const EVP_MD *md = FetchedSha1();
    if (md == nullptr) return false;
    if (t_ctx.ctx == nullptr && (t_ctx.ctx = EVP_MD_CTX_new()) == nullptr) return false;
    ctx_ = t_ctx.ctx;
    return EVP_DigestInit_ex(ctx_, md, nullptr) == 1;
  }
  bool Update(const void *p, size_t n) { return EVP_DigestUpdate(ctx_, p, n) == 1; }
  bool Final(unsigned char *out) {
    unsigned int len = 0;
    return EVP_DigestFinal_ex(ctx_, out, &len) == 1 && len == SLOTQ_KEY_SIZE;
  }

 private:
  EVP_MD_CTX *ctx_ = nullptr;
};

#endif

// The fields of a call are short: copy them inline rather than through a
// call to memcpy each (two overlapping words cover 8..16 bytes).
inline void CopySmall(unsigned char *dst, const unsigned char *src, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    memcpy(&a, src, 8);
    memcpy(&b, src + n - 8, 8);
    memcpy(dst, &a, 8);
    memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    memcpy(&a, src, 4);
    memcpy(&b, src + n - 4, 4);
    memcpy(dst, &a, 4);
    memcpy(dst + n - 4, &b, 4);
  } else if (n < 4) {
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
  } else {
    memcpy(dst, src, n);
  }
}

// Feeds bytes to the digest through a small buffer, so that the many short
// fields of a call cost one EVP update, and long ones go straight through.
class Hasher {
 public:
  explicit Hasher(Sha1 *sha) : sha_(sha) {}

  bool Put(const void *p, size_t n) {
    if (n > sizeof(buf_) - len_) {
      if (!Flush()) return false;
      if (n >= sizeof(buf_)) return sha_->Update(p, n);
    }
    CopySmall(buf_ + len_, static_cast<const unsigned char *>(p), n);
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
    if (len_ != 0 && !sha_->Update(buf_, len_)) return false;
    len_ = 0;
    return true;
  }

 private:
  Sha1 *sha_;
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
  Sha1 sha;
  if (!sha.Init()) return SLOTQ_EINTERNAL;
  Hasher h(&sha);
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
    // Insertion sort: one comparison per entry for the usual sorted input,
    // and an equal key (a duplicate) is met on the way.
    uint32_t order[32];
    for (uint32_t i = 0; i < n; i++) {
      uint32_t j = i;
      for (; j > 0; j--) {
        int c = CompareStr(cfg[i].key, cfg[order[j - 1]].key);
        if (c == 0) return SLOTQ_EINVAL;
        if (c > 0) break;
        order[j] = order[j - 1];
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
    for (size_t i = 1; i < n; i++) {
      if (CompareStr(cfg[order[i - 1]].key, cfg[order[i]].key) == 0) return SLOTQ_EINVAL;
    }
    rc = HashSorted(&h, cfg, order.data(), n);
  }
  if (rc != SLOTQ_OK) return rc;

  if (!h.Flush() || !sha.Final(out->bytes)) return SLOTQ_EINTERNAL;
  return SLOTQ_OK;
}

}  // namespace slotq
