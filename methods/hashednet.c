/* HashedNet weight tying (Chen et al. 2015; PAPER.md "Baselines"): every
 * sparse-eligible tensor l of N_l positions shares a bank of
 * B_l = round((1-s) * N_l) values (at least 1), each position holds one bank
 * entry, and the gradients of tied positions are summed into their entry.
 *
 * Which entry: position i takes entry perm_l(i) mod B_l, perm_l a fixed
 * random permutation of 0..N_l-1 drawn from the method stream at init, so
 * every entry serves floor or ceil of N_l / B_l positions scattered at
 * random, as HashedNet's hash does. PAPER.md's wording, entry perm(i mod B_l)
 * with perm a permutation of 0..B_l-1, ties position i to i + B_l, i + 2B_l,
 * ...: whenever B_l is a multiple of the row length whole rows become copies
 * (LeNet-300-100 at s = 0.9: fc3's 10 class rows are one row, so the logits
 * differ only by their biases and training stays at chance).
 *
 * The banks live in the weights themselves, so checkpoints need no method
 * state (init rebuilds the map from the seed): entry j is the value at its
 * representative, the first position that takes it. after_backward writes
 * each entry's gradient (the sum over its positions) into every tied
 * position, so the engine's per-position SGD step (weight decay wd * w,
 * Nesterov momentum) is the same step on every copy: copies stay equal and
 * the update is exactly SGD on the bank (their momentum buffers start at 0
 * together and see the same inputs). before_forward materializes the tying
 * again from the representatives, so nothing else can make copies drift.
 *
 * All positions are used: the store's masks are all active and never change,
 * so a weight's stored entry k is its position k whether it is stored DENSE
 * or COMPACT (param_storage.h; COMPACT only under --kernels sparse, whose
 * kernels then run at density 1), and the hooks index value and grad by
 * position. Bank values are
 * drawn from the tensor's own initializer (PAPER.md's He-normal fan-out for
 * convs, U(+-1/sqrt(fan_in)) for linear) with the method stream, one draw per
 * bank entry. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "method.h"

struct tied_tensor {
    size_t bank;           /* B_l */
    int32_t *entry;        /* position -> bank entry */
    int32_t *representative; /* bank entry -> the first position that takes it */
};

struct hashednet_state {
    struct tied_tensor *tensors;
    size_t banks;      /* sum of B_l */
    double *bank_grad; /* scratch for the largest bank */
};

/* B_l: round((1-s) N_l), at least one shared value, at most one per position */
static size_t bank_size(size_t positions, double sparsity)
{
    const double b = round((1.0 - sparsity) * (double)positions);
    return b < 1 ? 1 : (b > (double)positions ? positions : (size_t)b);
}

static void hashednet_free_state(struct method_run *run)
{
    struct hashednet_state *st = run->state;
    if (!st)
        return;
    for (int t = 0; st->tensors && t < run->store.count; t++) {
        free(st->tensors[t].entry);
        free(st->tensors[t].representative);
    }
    free(st->tensors);
    free(st->bank_grad);
    free(st);
    run->state = NULL;
}

/* draws tensor t's map and bank and writes the tied weights, every position
 * active */
static int tie_tensor(struct method_run *run, int t, struct tied_tensor *tied)
{
    struct sparse_tensor *tensor = &run->store.tensors[t];
    const struct param *p = tensor->param;
    tied->bank = bank_size(p->count, run->sparsity);
    tied->entry = malloc(sizeof *tied->entry * p->count);
    tied->representative = malloc(sizeof *tied->representative * tied->bank);
    float *bank = malloc(sizeof *bank * tied->bank);
    if (!tied->entry || !tied->representative || !bank) {
        free(bank);
        return -1;
    }
    for (size_t i = 0; i < p->count; i++)
        tied->entry[i] = (int32_t)i;
    rng_shuffle(&run->stream, tied->entry, p->count);
    for (size_t j = 0; j < tied->bank; j++)
        tied->representative[j] = -1;
    for (size_t i = 0; i < p->count; i++) {
        tied->entry[i] = (int32_t)((size_t)tied->entry[i] % tied->bank);
        if (tied->representative[tied->entry[i]] < 0)
            tied->representative[tied->entry[i]] = (int32_t)i;
    }
    param_init_values(p, bank, tied->bank, &run->stream);
    for (size_t i = 0; i < p->count; i++)
        sparse_activate(tensor, i, bank[tied->entry[i]]);
    free(bank);
    return 0;
}

static int hashednet_init(struct method_run *run)
{
    struct hashednet_state *st = calloc(1, sizeof *st);
    run->state = st;
    int ok = st && (st->tensors = calloc((size_t)run->store.count, sizeof *st->tensors));
    size_t largest = 0;
    for (int t = 0; ok && t < run->store.count; t++) {
        ok = tie_tensor(run, t, &st->tensors[t]) == 0;
        st->banks += st->tensors[t].bank;
        if (st->tensors[t].bank > largest)
            largest = st->tensors[t].bank;
    }
    if (ok)
        ok = (st->bank_grad = malloc(sizeof *st->bank_grad * largest)) != NULL;
    if (!ok) {
        fprintf(stderr, "dsrbench: hashednet: out of memory for the weight banks\n");
        hashednet_free_state(run);
        return -1;
    }
    return 0;
}

/* every position to the value of its entry's representative */
static void hashednet_before_forward(void *ctx, struct net *net,
                                     const struct train_position *pos)
{
    struct method_run *run = ctx;
    const struct hashednet_state *st = run->state;
    (void)net, (void)pos;
    for (int t = 0; t < run->store.count; t++) {
        struct sparse_tensor *tensor = &run->store.tensors[t];
        const struct tied_tensor *tied = &st->tensors[t];
        const float *w = tensor->param->value;
        for (size_t i = 0; i < tensor->param->count; i++)
            sparse_activate(tensor, i, w[tied->representative[tied->entry[i]]]);
    }
}

/* each entry's gradient is the sum over its positions, and every tied
 * position takes that sum, so one SGD step moves all copies alike */
static void hashednet_after_backward(void *ctx, struct net *net,
                                     const struct train_position *pos)
{
    struct method_run *run = ctx;
    const struct hashednet_state *st = run->state;
    (void)net, (void)pos;
    for (int t = 0; t < run->store.count; t++) {
        const struct param *p = run->store.tensors[t].param;
        const struct tied_tensor *tied = &st->tensors[t];
        double *sum = st->bank_grad;
        for (size_t j = 0; j < tied->bank; j++)
            sum[j] = 0.0;
        for (size_t i = 0; i < p->count; i++)
            sum[tied->entry[i]] += p->grad[i];
        for (size_t i = 0; i < p->count; i++)
            p->grad[i] = (float)sum[tied->entry[i]];
    }
}

/* the banks plus every parameter outside the tied tensors */
static size_t hashednet_learnable_params(const struct method_run *run)
{
    const struct hashednet_state *st = run->state;
    return net_param_count(run->net) - run->store.positions + st->banks;
}

static int hashednet_stats(struct method_run *run, struct method_stat *out, int max)
{
    const struct hashednet_state *st = run->state;
    if (max < 1)
        return 0;
    out[0] = (struct method_stat){"banks", (double)st->banks};
    return 1;
}

const struct method method_hashednet = {
    .name = "hashednet",
    .summary = "HashedNet weight tying: each sparse tensor shares round((1-s)N) values, "
               "tied gradients summed (Chen et al. 2015)",
    .sparse = 1,
    .mask = MASK_ALL_ACTIVE,
    .init = hashednet_init,
    .before_forward = hashednet_before_forward,
    .after_backward = hashednet_after_backward,
    .stats = hashednet_stats,
    .learnable_params = hashednet_learnable_params,
    .free_state = hashednet_free_state,
};
