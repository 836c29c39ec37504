// Clang thread-safety annotations (no-ops elsewhere), as Abseil names them:
// they let the compiler check which lock guards which field.
#ifndef SLOTQ_SRC_ANNOTATIONS_H
#define SLOTQ_SRC_ANNOTATIONS_H

#if defined(__clang__)
#define SLOTQ_TSA(x) __attribute__((x))
#else
#define SLOTQ_TSA(x)
#endif

#define SLOTQ_CAPABILITY(name) SLOTQ_TSA(capability(name))
#define SLOTQ_SCOPED_CAPABILITY SLOTQ_TSA(scoped_lockable)
#define SLOTQ_GUARDED_BY(m) SLOTQ_TSA(guarded_by(m))
#define SLOTQ_PT_GUARDED_BY(m) SLOTQ_TSA(pt_guarded_by(m))
#define SLOTQ_REQUIRES(...) SLOTQ_TSA(requires_capability(__VA_ARGS__))
#define SLOTQ_EXCLUDES(...) SLOTQ_TSA(locks_excluded(__VA_ARGS__))
#define SLOTQ_ACQUIRE(...) SLOTQ_TSA(acquire_capability(__VA_ARGS__))
#define SLOTQ_RELEASE(...) SLOTQ_TSA(release_capability(__VA_ARGS__))
#define SLOTQ_NO_THREAD_SAFETY_ANALYSIS SLOTQ_TSA(no_thread_safety_analysis)

#endif  // SLOTQ_SRC_ANNOTATIONS_H
