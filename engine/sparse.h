/* The sparse parameter store: every sparse-eligible weight tensor of a model
 * gets a mask and an active count. Methods change masks and values only
 * through these functions, which keep the counts and the zero-value invariant
 * (an inactive position always stores 0) true, whether the weight is stored
 * DENSE or COMPACT (param_storage.h; walk the stored entries with
 * param_stored / param_stored_pos, net.h). Sparsity here is always the
 * fraction of positions that are inactive. */
#ifndef DSRBENCH_SPARSE_H
#define DSRBENCH_SPARSE_H
#include <stddef.h>

#include "net.h"
#include "rng.h"

struct sparse_tensor {
    struct param *param;
    size_t active;
};

struct sparse_store {
    struct sparse_tensor *tensors;
    int count;
    size_t positions; /* sum of N_l */
};

/* registers the net's sparse-eligible tensors with all-active masks; -1 when
 * the net has none */
int sparse_store_init(struct sparse_store *s, struct net *net);
void sparse_store_free(struct sparse_store *s);

/* PAPER.md's initial mask: in every tensor independently int((1-s)*N_l + 0.1)
 * positions, uniformly at random from mask_stream; inactive values set to 0 */
void sparse_store_random_masks(struct sparse_store *s, double sparsity, struct rng *mask_stream);
/* active positions a tensor of n positions keeps at this sparsity */
size_t sparse_initial_active(size_t n, double sparsity);

size_t sparse_store_active(const struct sparse_store *s);
/* 1 - active / positions */
double sparse_store_sparsity(const struct sparse_store *s);

void sparse_deactivate(struct sparse_tensor *t, size_t index);
void sparse_activate(struct sparse_tensor *t, size_t index, float value);
/* syncs every tensor's storage (param_sync), recounts from the masks and
 * checks inactive values are 0 (DENSE) or exactly the active positions are
 * stored (COMPACT); returns 0 when the store is consistent, else -1 with the
 * first fault written to err */
int sparse_store_check(const struct sparse_store *s, char *err, size_t err_len);

#endif
