/* The two storage modes of a masked weight (struct param in net.h).
 *
 * DENSE: value, grad and momentum hold all count positions; inactive values
 * and gradients are 0, an inactive position's momentum keeps decaying as the
 * optimizer runs buf = m * buf + 0 over it.
 *
 * COMPACT: they hold the active entries only, in ascending position order,
 * which is the sparse kernels' row order (o, c, tap; sparse_weights.h), so
 * the kernels, the gradient zeroing and the optimizer touch nnz floats, not
 * count. The nonzero momentum buffers of inactive positions are a sorted
 * list (compact->resting), decayed by the dense path's float operations
 * (buf = m * buf + 0 per step) lazily: a step only counts, a sync or a
 * checkpoint applies the count; a regrown position takes its buffer back, as
 * on the dense path (PAPER.md: momentum buffers are never reset). A buffer
 * that decays below FLT_MIN leaves the list as +0, where the dense path
 * keeps a subnormal for ever (param_storage.c, settled): the list holds the
 * positions deactivated in the last few hundred steps, not every position
 * that was ever active.
 *
 * net_sync_params (net.h) picks COMPACT exactly when the weight's layer runs
 * the sparse kernels. While COMPACT, sparse_deactivate only clears the mask
 * bit (the stored entry stays, and readers skip it by its mask bit) and
 * sparse_activate records (position, value) in compact->pending; param_sync
 * merges both into new arrays in one pass over the sorted lists. Whoever
 * writes a mask other than through sparse_activate / sparse_deactivate makes
 * the weight DENSE first (param_to_dense). Values, gradients and momentum
 * equal the dense path's bit for bit at every position, but for those
 * flushed subnormal buffers. */
#ifndef DSRBENCH_PARAM_STORAGE_H
#define DSRBENCH_PARAM_STORAGE_H
#include "net.h"

/* DENSE -> COMPACT (no-op when COMPACT); needs a mask */
void param_to_compact(struct param *p);
/* COMPACT -> DENSE, pending activations and resting momentum included (no-op
 * when DENSE) */
void param_to_dense(struct param *p);
/* COMPACT: merges the pending activations and drops the deactivated entries
 * (their momentum, when not +0, goes to the resting list); O(1) when the mask
 * did not change since the latest sync. DENSE: nothing to do. */
void param_sync(struct param *p);
void param_storage_free(struct param *p);

/* the storage side of sparse_activate / sparse_deactivate; was_active is
 * the mask bit before the call (the caller keeps mask and counts) */
void param_activate(struct param *p, size_t pos, float value, int was_active);
void param_deactivate(struct param *p, size_t pos);

/* one optimizer step over the resting momentum buffers: buf = m * buf + 0,
 * as the dense path computes it at inactive positions, owed until they are
 * read (O(1) here); m == 0 leaves them, as the dense path does */
void param_decay_resting(struct param *p, float momentum);

/* p's values, gradients or momentum at all count positions, as the dense
 * path stores them (also between syncs); out holds count floats */
void param_dense_values(const struct param *p, float *out);
void param_dense_grads(const struct param *p, float *out);
void param_dense_momentum(const struct param *p, float *out);

#endif
