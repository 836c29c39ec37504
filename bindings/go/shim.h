/*
 * The C side of the Go binding: trampolines from libslotq's callbacks to the
 * exported Go functions (callbacks.go), and helpers that let one cgo call do
 * what would otherwise take several. Declarations only: this header is
 * included by the preamble of callbacks.go, which has //export functions.
 */
#ifndef SLOTQ_GO_SHIM_H
#define SLOTQ_GO_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include <slotq.h>

/* The slot callbacks of every slot queued from Go: the slot pointer is a
 * runtime/cgo.Handle of the Go slot entry. */
extern const slotq_slot_ops goslotq_slot_ops;

/* A Go Call flattened into Go memory without pointers: `buf` holds, back to
 * back, app name, path, image, format, then each config key and value; `lens`
 * holds their 4 + 2 * nkv lengths. */
int goslotq_call_key(const char *buf, const size_t *lens, size_t nkv, int32_t timeout,
                     int32_t idle_timeout, uint64_t memory, slotq_key *out);
int goslotq_mgr_get(slotq_mgr_t *mgr, const char *buf, const size_t *lens, size_t nkv,
                    int32_t timeout, int32_t idle_timeout, uint64_t memory, slotq_queue_t **queue,
                    int *is_new);

/* slotq_queue_slot with the Go slot ops, also returning the token's id. */
int goslotq_queue_slot(slotq_queue_t *queue, uintptr_t handle, slotq_token_t **token, uint64_t *id);

/* slotq_dequeuer_next(deq, 0, NULL, ...), also returning the token's slot
 * handle, id and state. */
int goslotq_dequeuer_poll(slotq_dequeuer_t *deq, slotq_token_t **token, uintptr_t *handle,
                          uint64_t *id, int *state);

/* Starts a dequeuer with the Go notification callback of `handle`, and arms
 * it (the notification may run before this returns). On failure nothing is
 * left. */
int goslotq_start_dequeuer(slotq_queue_t *queue, uintptr_t handle, slotq_dequeuer_t **out);

/* Registers (handle != 0) or removes (handle == 0) the Go notify callback. */
int goslotq_queue_set_signal_notify(slotq_queue_t *queue, uintptr_t handle);

#endif /* SLOTQ_GO_SHIM_H */
