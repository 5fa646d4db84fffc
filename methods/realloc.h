/* The three steps of a dynamic sparse reallocation as separate functions
 * (the sparse_learning split): prune, redistribute, grow. They talk through
 * one scratch of per-tensor counts: a prune fills pruned / survivors / room,
 * a redistribution turns those into grow, a growth reads grow. DSR, SET and
 * DeepR differ in what they prune and how they split the regrowth, and share
 * the bookkeeping and the growth. The scratch is allocated once per run so a
 * reallocation does not malloc. */
#ifndef DSRBENCH_REALLOC_H
#define DSRBENCH_REALLOC_H
#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "sparse.h"

struct realloc_scratch {
    int count;           /* tensors of the store */
    size_t *pruned;      /* per tensor: deactivated in this step */
    size_t *survivors;   /* per tensor: active after the prune (R_l) */
    size_t *room;        /* per tensor: inactive positions not pruned in this step */
    size_t *grow;        /* per tensor: how many to activate (G_l) */
    size_t *share;       /* realloc_redistribute's working space */
    uint8_t *pruned_now; /* per store position, tensors back to back: 1 = pruned in this step */
    size_t *offset;      /* each tensor's first position in pruned_now */
    int32_t *candidates; /* room of one tensor, as many as its largest has positions */
    uint64_t *ranked;    /* realloc_prune_smallest's keys, as many as the largest tensor */
};

/* 0, or -1 when out of memory */
int realloc_scratch_init(struct realloc_scratch *s, const struct sparse_store *store);
void realloc_scratch_free(struct realloc_scratch *s);

/* Building blocks of a prune: begin clears the marks and counts, prune_at
 * deactivates one position and marks it, tally fills survivors and room and
 * returns the total pruned. */
void realloc_begin(const struct sparse_store *store, struct realloc_scratch *s);
void realloc_prune_at(struct sparse_store *store, struct realloc_scratch *s, int tensor,
                      size_t index);
size_t realloc_tally(const struct sparse_store *store, struct realloc_scratch *s);

/* DSR's prune: in every tensor deactivates the active entries with
 * |w| < threshold (strict); a tensor whose active entries are all below it
 * keeps its lowest active index. Returns the total pruned (K). */
size_t realloc_prune_below(struct sparse_store *store, double threshold,
                           struct realloc_scratch *s);

/* SET's prune, for one tensor, between realloc_begin and realloc_tally:
 * deactivates the k active entries of smallest |w| (all of them when k
 * exceeds the active count). Ties in |w| go to the lower index first, so the
 * choice is one fixed set for given values. A selection (quickselect on
 * |w| then index), not a sort: linear time on average. */
void realloc_prune_smallest(struct sparse_store *store, struct realloc_scratch *s, int tensor,
                            size_t k);

/* Regrowth where the pruning happened (SET, DeepR): grow[l] = pruned[l] */
void realloc_redistribute_same_tensor(struct realloc_scratch *s);

/* DSR's split of k regrown weights: G_l = round(k * R_l / sum R), half away
 * from zero; the rounding remainder to one uniformly random tensor; a tensor
 * with less room than its share takes what fits and the rest is split the same
 * way over the tensors that still have room, until the G_l sum to k. Aborts
 * when the store has less room than k in all. */
void realloc_redistribute(size_t k, struct realloc_scratch *s, struct rng *rng);

/* Activates grow[l] positions in every tensor l, uniformly without
 * replacement among its room (inactive, not pruned in this step), each at
 * value `initial`. Returns the total grown. */
size_t realloc_grow_random(struct sparse_store *store, struct realloc_scratch *s, float initial,
                           struct rng *rng);

#endif
