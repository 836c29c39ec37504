// A small per-thread cache of freed blocks of one size, in front of malloc:
// tokens and dequeuers are made and freed once per call on the hot path,
// and a thread that frees one usually makes another soon.
//
// Bounded (kCap blocks per thread and type), emptied when the thread exits.
// Disabled under AddressSanitizer and ThreadSanitizer, which must see every
// free to catch a use after it.
#ifndef SLOTQ_SRC_OBJECT_CACHE_H
#define SLOTQ_SRC_OBJECT_CACHE_H

#include <stdlib.h>

#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SLOTQ_OBJECT_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SLOTQ_OBJECT_CACHE 0
#endif
#endif
#ifndef SLOTQ_OBJECT_CACHE
#define SLOTQ_OBJECT_CACHE 1
#endif

namespace slotq {

template <class T>
class ObjectCache {
 public:
  /// Memory for one T, or nullptr when out of memory.
  static void *Allocate() {
#if SLOTQ_OBJECT_CACHE
    List &l = list_;
    if (l.n > 0) return l.blocks[--l.n];
#endif
    return malloc(sizeof(T));
  }

  /// Gives back memory from Allocate (the T already destroyed).
  static void Free(void *p) {
#if SLOTQ_OBJECT_CACHE
    List &l = list_;
    if (!l.closed && l.n < kCap) {
      if (!l.armed) {
        l.armed = true;
        (void)&reaper_;  // constructs the reaper, so that it runs at thread exit
      }
      l.blocks[l.n++] = p;
      return;
    }
#endif
    free(p);
  }

 private:
  static constexpr int kCap = 32;
  // Plain data, so it stays usable after the reaper ran (a late free during
  // the thread's exit then goes straight to free()).
  struct List {
    void *blocks[kCap];
    int n;
    bool armed;  // reaper_ was constructed for this thread
    bool closed;
  };
  struct Reaper {
    ~Reaper() {
      List &l = list_;
      l.closed = true;
      while (l.n > 0) free(l.blocks[--l.n]);
    }
  };
  static thread_local List list_;
  static thread_local Reaper reaper_;
};

template <class T>
thread_local typename ObjectCache<T>::List ObjectCache<T>::list_;
template <class T>
thread_local typename ObjectCache<T>::Reaper ObjectCache<T>::reaper_;

}  // namespace slotq

#endif  // SLOTQ_SRC_OBJECT_CACHE_H
