#include "realloc.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int realloc_scratch_init(struct realloc_scratch *s, const struct sparse_store *store)
{
    const size_t n = (size_t)store->count;
    size_t largest = 1;
    for (int l = 0; l < store->count; l++)
        if (store->tensors[l].param->count > largest)
            largest = store->tensors[l].param->count;
    *s = (struct realloc_scratch){
        .count = store->count,
        .pruned = calloc(n, sizeof(size_t)),
        .survivors = calloc(n, sizeof(size_t)),
        .room = calloc(n, sizeof(size_t)),
        .grow = calloc(n, sizeof(size_t)),
        .share = calloc(n, sizeof(size_t)),
        .offset = calloc(n, sizeof(size_t)),
        .pruned_now = calloc(store->positions > 0 ? store->positions : 1, 1),
        .candidates = malloc(largest * sizeof(int32_t)),
        .ranked = malloc(largest * sizeof(uint64_t)),
    };
    if (!s->pruned || !s->survivors || !s->room || !s->grow || !s->share || !s->offset ||
        !s->pruned_now || !s->candidates || !s->ranked) {
        realloc_scratch_free(s);
        return -1;
    }
    for (int l = 1; l < store->count; l++)
        s->offset[l] = s->offset[l - 1] + store->tensors[l - 1].param->count;
    return 0;
}

void realloc_scratch_free(struct realloc_scratch *s)
{
    free(s->pruned);
    free(s->survivors);
    free(s->room);
    free(s->grow);
    free(s->share);
    free(s->offset);
    free(s->pruned_now);
    free(s->candidates);
    free(s->ranked);
    memset(s, 0, sizeof *s);
}

void realloc_begin(const struct sparse_store *store, struct realloc_scratch *s)
{
    memset(s->pruned_now, 0, store->positions);
    memset(s->pruned, 0, (size_t)s->count * sizeof *s->pruned);
}

void realloc_prune_at(struct sparse_store *store, struct realloc_scratch *s, int tensor,
                      size_t index)
{
    sparse_deactivate(&store->tensors[tensor], index);
    s->pruned_now[s->offset[tensor] + index] = 1;
    s->pruned[tensor]++;
}

size_t realloc_tally(const struct sparse_store *store, struct realloc_scratch *s)
{
    size_t total = 0;
    for (int l = 0; l < s->count; l++) {
        const struct sparse_tensor *t = &store->tensors[l];
        s->survivors[l] = t->active;
        s->room[l] = t->param->count - t->active - s->pruned[l];
        total += s->pruned[l];
    }
    return total;
}

/* The index the keep-one rule saves: the lowest active one when every active
 * entry is below the threshold (so pruning would empty the tensor), else
 * SIZE_MAX. Usually returns at the first active entry. */
static size_t kept_from_emptying(const struct sparse_tensor *t, double threshold)
{
    const struct param *p = t->param;
    size_t first = SIZE_MAX;
    for (size_t k = 0; k < param_stored(p); k++) {
        const size_t i = param_stored_pos(p, k);
        if (!p->mask[i])
            continue;
        if (fabs((double)p->value[k]) >= threshold)
            return SIZE_MAX;
        if (first == SIZE_MAX)
            first = i;
    }
    return first;
}

size_t realloc_prune_below(struct sparse_store *store, double threshold,
                           struct realloc_scratch *s)
{
    realloc_begin(store, s);
    for (int l = 0; l < store->count; l++) {
        const struct param *p = store->tensors[l].param;
        const size_t keep = kept_from_emptying(&store->tensors[l], threshold);
        for (size_t k = 0; k < param_stored(p); k++) {
            const size_t i = param_stored_pos(p, k);
            if (p->mask[i] && i != keep && fabs((double)p->value[k]) < threshold)
                realloc_prune_at(store, s, l, i);
        }
    }
    return realloc_tally(store, s);
}

/* |w| then index in one integer: the bits of a non-negative float order like
 * its value, so comparing keys compares magnitudes and breaks ties by index
 * (a NaN ranks above every number) */
static uint64_t magnitude_key(float w, size_t index)
{
    uint32_t bits;
    memcpy(&bits, &w, sizeof bits);
    return (uint64_t)(bits & 0x7fffffffu) << 32 | (uint64_t)index;
}

static uint64_t median_of_three(uint64_t a, uint64_t b, uint64_t c)
{
    if (a > b) {
        const uint64_t t = a;
        a = b;
        b = t;
    }
    return c < a ? a : c > b ? b : c;
}

/* Wirth's selection (Hoare's find) with a median-of-three pivot: afterwards
 * a[0..k) hold the k smallest keys, in no particular order; 0 < k < n. The
 * keys are distinct, and the pivot is one of the keys in [lo, hi], so both
 * scans stop inside the range. */
static void select_smallest(uint64_t *a, ptrdiff_t n, ptrdiff_t k)
{
    ptrdiff_t lo = 0, hi = n - 1;
    while (lo < hi) {
        const uint64_t pivot = median_of_three(a[lo], a[lo + (hi - lo) / 2], a[hi]);
        ptrdiff_t i = lo, j = hi;
        do {
            while (a[i] < pivot)
                i++;
            while (pivot < a[j])
                j--;
            if (i <= j) {
                const uint64_t t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        } while (i <= j);
        if (j < k)
            lo = i;
        if (k < i)
            hi = j;
    }
}

void realloc_prune_smallest(struct sparse_store *store, struct realloc_scratch *s, int tensor,
                            size_t k)
{
    const struct param *p = store->tensors[tensor].param;
    size_t n = 0;
    for (size_t e = 0; e < param_stored(p); e++) {
        const size_t i = param_stored_pos(p, e);
        if (p->mask[i])
            s->ranked[n++] = magnitude_key(p->value[e], i);
    }
    if (k == 0 || n == 0)
        return;
    if (k < n)
        select_smallest(s->ranked, (ptrdiff_t)n, (ptrdiff_t)k);
    else
        k = n;
    for (size_t i = 0; i < k; i++)
        realloc_prune_at(store, s, tensor, (size_t)(s->ranked[i] & 0xffffffffu));
}

void realloc_redistribute_same_tensor(struct realloc_scratch *s)
{
    for (int l = 0; l < s->count; l++)
        s->grow[l] = s->pruned[l];
}

/* The first pass splits over every tensor (a full one overflows like any
 * other); the passes that re-split an overflow only over tensors with room. */
static int takes_share(const struct realloc_scratch *s, int l, int first_pass)
{
    return first_pass || s->grow[l] < s->room[l];
}

/* the n-th (from 0) tensor that takes a share and, when need_share, already has one */
static int nth_taker(const struct realloc_scratch *s, uint64_t n, int first_pass, int need_share)
{
    for (int l = 0; l < s->count; l++)
        if (takes_share(s, l, first_pass) && (!need_share || s->share[l] > 0) && n-- == 0)
            return l;
    return -1;
}

static uint64_t count_takers(const struct realloc_scratch *s, int first_pass, int need_share)
{
    uint64_t n = 0;
    for (int l = 0; l < s->count; l++)
        n += takes_share(s, l, first_pass) && (!need_share || s->share[l] > 0);
    return n;
}

/* Makes the shares sum to amount. A shortfall goes to one uniformly random
 * taker. Rounding half away from zero can also overshoot (k = 3 over two equal
 * tensors rounds to 2 + 2); no share may go negative, so the excess comes off
 * one uniformly random taker that has a share, and when that share is smaller
 * than the excess, off further random draws among those. */
static void settle_remainder(size_t amount, size_t sum, struct realloc_scratch *s, int first_pass,
                             struct rng *rng)
{
    if (sum < amount) {
        const uint64_t n = count_takers(s, first_pass, 0);
        s->share[nth_taker(s, rng_below(rng, n), first_pass, 0)] += amount - sum;
        return;
    }
    while (sum > amount) {
        const uint64_t n = count_takers(s, first_pass, 1);
        const int l = nth_taker(s, rng_below(rng, n), first_pass, 1);
        const size_t take = s->share[l] < sum - amount ? s->share[l] : sum - amount;
        s->share[l] -= take;
        sum -= take;
    }
}

/* shares of amount over the takers, proportional to their survivors */
static void split_proportional(size_t amount, struct realloc_scratch *s, int first_pass,
                               struct rng *rng)
{
    double weight = 0.0;
    for (int l = 0; l < s->count; l++)
        if (takes_share(s, l, first_pass))
            weight += (double)s->survivors[l];
    size_t sum = 0;
    for (int l = 0; l < s->count; l++) {
        const int takes = takes_share(s, l, first_pass) && weight > 0.0;
        s->share[l] = takes ? (size_t)round((double)amount * (double)s->survivors[l] / weight)
                            : 0;
        sum += s->share[l];
    }
    settle_remainder(amount, sum, s, first_pass, rng);
}

void realloc_redistribute(size_t k, struct realloc_scratch *s, struct rng *rng)
{
    size_t room = 0;
    for (int l = 0; l < s->count; l++) {
        s->grow[l] = 0;
        room += s->room[l];
    }
    if (room < k) {
        fprintf(stderr,
                "dsrbench: reallocation must regrow %zu weights but only %zu positions are "
                "free (inactive and not pruned in this step)\n",
                k, room);
        abort();
    }
    /* every pass either places all that is left or fills at least one tensor */
    size_t left = k;
    for (int first_pass = 1; left > 0; first_pass = 0) {
        split_proportional(left, s, first_pass, rng);
        for (int l = 0; l < s->count; l++) {
            const size_t fits = s->room[l] - s->grow[l];
            const size_t placed = s->share[l] < fits ? s->share[l] : fits;
            s->grow[l] += placed;
            left -= placed;
        }
    }
}

/* a tensor's room (inactive, not pruned in this step) into out; returns how many */
static size_t gather_room(const struct param *p, const uint8_t *pruned_now, int32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++)
        if (!p->mask[i] && !pruned_now[i])
            out[n++] = (int32_t)i;
    return n;
}

size_t realloc_grow_random(struct sparse_store *store, struct realloc_scratch *s, float initial,
                           struct rng *rng)
{
    size_t grown = 0;
    for (int l = 0; l < store->count; l++) {
        if (s->grow[l] == 0)
            continue;
        struct sparse_tensor *t = &store->tensors[l];
        const size_t n = gather_room(t->param, s->pruned_now + s->offset[l], s->candidates);
        if (n < s->grow[l]) {
            fprintf(stderr, "dsrbench: %s: asked to grow %zu weights into %zu free positions\n",
                    t->param->name, s->grow[l], n);
            abort();
        }
        /* a partial Fisher-Yates shuffle: the first grow[l] candidates are a
         * uniform sample without replacement */
        for (size_t i = 0; i < s->grow[l]; i++) {
            const size_t j = i + (size_t)rng_below(rng, n - i);
            const int32_t pick = s->candidates[j];
            s->candidates[j] = s->candidates[i];
            s->candidates[i] = pick;
            sparse_activate(t, (size_t)pick, initial);
        }
        grown += s->grow[l];
    }
    return grown;
}
