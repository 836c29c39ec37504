/* The line protocol between slotq-agent and slotq-hotfn, shared by both.
 *
 * The function first writes "ready <name> <pid>" when it can take requests.
 * Then, for each request line it reads, it writes exactly one response line:
 * "<name> <request> <checksum>", the checksum being 8 hex digits of
 * hotfn_checksum(name, request), so the agent can check that a response
 * belongs to its request and comes from the right function. */
#ifndef SLOTQ_AGENT_PROTOCOL_H
#define SLOTQ_AGENT_PROTOCOL_H

#include <stdint.h>

/** The first word of the line a function writes once it is up. */
#define HOTFN_READY "ready"

/** Set in slotq-hotfn's environment, makes every Nth response wrong (tests). */
#define HOTFN_CORRUPT_ENV "SLOTQ_HOTFN_CORRUPT_EVERY"

/* 32-bit FNV-1a of "<name> <request>". */
static inline uint32_t hotfn_checksum(const char *name, const char *request) {
  uint32_t h = 2166136261u;
  const unsigned char *p;
  for (p = (const unsigned char *)name; *p != '\0'; p++) h = (h ^ *p) * 16777619u;
  h = (h ^ (unsigned char)' ') * 16777619u;
  for (p = (const unsigned char *)request; *p != '\0'; p++) h = (h ^ *p) * 16777619u;
  return h;
}

#endif /* SLOTQ_AGENT_PROTOCOL_H */
