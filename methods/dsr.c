/* Dynamic sparse reparameterization (Mostafa & Wang 2019, Algorithm 1; the
 * spec is PAPER.md "DSR (Algorithm 1), exact semantics"). Every P iterations:
 * prune every weight below one global magnitude threshold H, regrow as many at
 * zero, split over the tensors in proportion to their surviving weights, and
 * move H so that about N_p weights are pruned per reallocation. The budget
 * (total active count) never changes.
 *
 * Iteration numbering: after_step sees pos->iteration, the number of optimizer
 * steps taken before this one, i.e. the 0-based index of the step just taken.
 * A reallocation follows step `it` when it % P == 0, it != 0 and the step's
 * epoch is below the stop epoch, P being the period of that epoch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "realloc.h"

enum dsr_option {
    OPT_NP,
    OPT_DELTA,
    OPT_H0,
    OPT_PERIOD,
    OPT_DOUBLE_1,
    OPT_DOUBLE_2,
    OPT_DOUBLE_3,
    OPT_STOP_EPOCH,
    DSR_OPTIONS
};

/* 0 asks for PAPER.md's value for the model (see resolve_defaults) */
static const struct method_option dsr_options[DSR_OPTIONS] = {
    [OPT_NP] = {"np", 0, 0, 1e9,
                "target pruned per reallocation N_p (0: 20000 for WRN-28-2, scaled by the "
                "sparse positions for other CIFAR-sized models; 400000 for ResNet-50)"},
    [OPT_DELTA] = {"delta", 0.1, 0, 1, "tolerance around N_p before H moves (0: 0.1)"},
    [OPT_H0] = {"h0", 1e-3, 0, 1e3, "initial pruning threshold H (0: 1e-3)"},
    [OPT_PERIOD] = {"period", 0, 0, 1e9,
                    "reallocation period P in iterations at epoch 0 (0: 100; ResNet-50 1000)"},
    [OPT_DOUBLE_1] = {"p_epoch1", 0, 0, 1e6, "epoch where P first doubles (0: 25)"},
    [OPT_DOUBLE_2] = {"p_epoch2", 0, 0, 1e6, "epoch where P doubles again (0: 80; ResNet-50 50)"},
    [OPT_DOUBLE_3] = {"p_epoch3", 0, 0, 1e6,
                      "epoch where P doubles a third time (0: 140; ResNet-50 75)"},
    [OPT_STOP_EPOCH] = {"stop_epoch", 0, 0, 1e6,
                        "first epoch without reallocation (0: 190; ResNet-50 95)"},
};

/* PAPER.md's setups: WRN-28-2 / CIFAR-10 and ResNet-50 / ImageNet. The CIFAR
 * N_p depends on the sparse store, so dsr_init resolves it. */
static const double cifar_defaults[DSR_OPTIONS] = {
    [OPT_DELTA] = 0.1, [OPT_H0] = 1e-3, [OPT_PERIOD] = 100, [OPT_DOUBLE_1] = 25, [OPT_DOUBLE_2] = 80,
    [OPT_DOUBLE_3] = 140, [OPT_STOP_EPOCH] = 190};
static const double imagenet_defaults[DSR_OPTIONS] = {
    [OPT_NP] = 400000, [OPT_DELTA] = 0.1, [OPT_H0] = 1e-3, [OPT_PERIOD] = 1000, [OPT_DOUBLE_1] = 25, [OPT_DOUBLE_2] = 50,
    [OPT_DOUBLE_3] = 75, [OPT_STOP_EPOCH] = 95};
/* N_p for WRN-28-2 and its sparse positions: other CIFAR models scale N_p by size */
#define WRN_28_2_NP 20000.0
#define WRN_28_2_POSITIONS 1451520.0

enum { DSR_STATS = 4 };

struct dsr_state {
    double threshold; /* H, persists across epochs */
    struct realloc_scratch scratch;
    /* since the last stats call */
    size_t pruned, grown;
    long reallocations;
};

static int is_count(double v)
{
    return v >= 0 && v == floor(v);
}

static int dsr_configure(struct method_run *run, struct model_spec *spec)
{
    const double *paper = spec->family == MODEL_RESNET_50 ? imagenet_defaults : cifar_defaults;
    double *o = run->option;
    for (int i = 0; i < DSR_OPTIONS; i++)
        if (o[i] == 0)
            o[i] = paper[i];
    if (!is_count(o[OPT_NP]) || !is_count(o[OPT_PERIOD]) || o[OPT_PERIOD] < 1 ||
        !is_count(o[OPT_DOUBLE_1]) || !is_count(o[OPT_DOUBLE_2]) ||
        !is_count(o[OPT_DOUBLE_3]) || !is_count(o[OPT_STOP_EPOCH])) {
        fprintf(stderr, "dsrbench: dsr: np %g, period %g, p_epoch1..3 %g %g %g and stop_epoch "
                        "%g must be whole numbers, period at least 1\n",
                o[OPT_NP], o[OPT_PERIOD], o[OPT_DOUBLE_1], o[OPT_DOUBLE_2], o[OPT_DOUBLE_3],
                o[OPT_STOP_EPOCH]);
        return -1;
    }
    if (o[OPT_DOUBLE_1] > o[OPT_DOUBLE_2] || o[OPT_DOUBLE_2] > o[OPT_DOUBLE_3]) {
        fprintf(stderr, "dsrbench: dsr: p_epoch1..3 = %g %g %g: expected them in rising order\n",
                o[OPT_DOUBLE_1], o[OPT_DOUBLE_2], o[OPT_DOUBLE_3]);
        return -1;
    }
    return 0;
}

/* WRN-28-2's N_p scaled by the model's sparse positions, at least 1 */
static double scaled_np(const struct sparse_store *store)
{
    const double np = round(WRN_28_2_NP * (double)store->positions / WRN_28_2_POSITIONS);
    return np < 1 ? 1 : np;
}

static int dsr_init(struct method_run *run)
{
    const struct sparse_store *store = &run->store;
    /* K never exceeds the active count, and regrowth may use only positions
     * that were inactive before the prune: while at most half the positions
     * are active (sparsity >= 0.5, which the budget keeps) K always fits */
    if (2 * sparse_store_active(store) > store->positions) {
        fprintf(stderr,
                "dsrbench: dsr: sparsity %g leaves %zu of %zu positions active; DSR regrows "
                "only at positions not pruned in the same step and needs sparsity >= 0.5\n",
                run->sparsity, sparse_store_active(store), store->positions);
        return -1;
    }
    struct dsr_state *st = calloc(1, sizeof *st);
    if (!st || realloc_scratch_init(&st->scratch, store) != 0) {
        free(st);
        fprintf(stderr, "dsrbench: dsr: out of memory for the reallocation scratch\n");
        return -1;
    }
    if (run->option[OPT_NP] == 0)
        run->option[OPT_NP] = scaled_np(store);
    st->threshold = run->option[OPT_H0];
    run->state = st;
    return 0;
}

/* P at this epoch: the base period, doubled at every boundary reached */
static long period_at(const double *o, int epoch)
{
    long period = (long)o[OPT_PERIOD];
    for (int b = OPT_DOUBLE_1; b <= OPT_DOUBLE_3; b++)
        if (epoch >= (int)o[b])
            period *= 2;
    return period;
}

static int reallocates_after(const double *o, const struct train_position *pos)
{
    return pos->iteration != 0 && pos->epoch < (int)o[OPT_STOP_EPOCH] &&
           pos->iteration % period_at(o, pos->epoch) == 0;
}

/* Algorithm 1's feedback: prune more when too few moved, fewer when too many */
static void adapt_threshold(struct dsr_state *st, size_t pruned, const double *o)
{
    const double k = (double)pruned, np = o[OPT_NP], delta = o[OPT_DELTA];
    if (k > (1 + delta) * np)
        st->threshold /= 2;
    else if (k < (1 - delta) * np)
        st->threshold *= 2;
}

static void reallocate(struct method_run *run, long iteration)
{
    struct dsr_state *st = run->state;
    struct realloc_scratch *s = &st->scratch;
    const size_t before = sparse_store_active(&run->store);
    const size_t pruned = realloc_prune_below(&run->store, st->threshold, s);
    realloc_redistribute(pruned, s, &run->stream);
    const size_t grown = realloc_grow_random(&run->store, s, 0.0f, &run->stream);
    const size_t after = sparse_store_active(&run->store);
    if (after != before || grown != pruned) {
        fprintf(stderr,
                "dsrbench: dsr: the reallocation after iteration %ld broke the budget: %zu "
                "active before, %zu after (pruned %zu, grown %zu)\n",
                iteration, before, after, pruned, grown);
        abort();
    }
    adapt_threshold(st, pruned, run->option);
    st->pruned += pruned;
    st->grown += grown;
    st->reallocations++;
}

static void dsr_after_step(void *ctx, struct net *net, const struct train_position *pos)
{
    struct method_run *run = ctx;
    (void)net;
    if (reallocates_after(run->option, pos))
        reallocate(run, pos->iteration);
}

static int dsr_stats(struct method_run *run, struct method_stat *out, int max)
{
    struct dsr_state *st = run->state;
    const struct method_stat stats[DSR_STATS] = {
        {"H", st->threshold},
        {"pruned", (double)st->pruned},
        {"grown", (double)st->grown},
        {"reallocations", (double)st->reallocations},
    };
    const int n = DSR_STATS < max ? DSR_STATS : max;
    for (int i = 0; i < n; i++)
        out[i] = stats[i];
    st->pruned = st->grown = 0;
    st->reallocations = 0;
    return n;
}

/* Checkpoints hold H alone: the per-epoch counts are reset by the stats call
 * that precedes every checkpoint, and init rebuilds the scratch. */
static size_t dsr_state_size(const struct method_run *run)
{
    (void)run;
    return sizeof(double);
}

static void dsr_state_save(const struct method_run *run, void *out)
{
    const struct dsr_state *st = run->state;
    memcpy(out, &st->threshold, sizeof st->threshold);
}

static int dsr_state_load(struct method_run *run, const void *in, size_t size)
{
    struct dsr_state *st = run->state;
    double threshold;
    if (size != sizeof threshold) {
        fprintf(stderr, "dsrbench: dsr: a saved state of %zu bytes; expected %zu (threshold H)\n",
                size, sizeof threshold);
        return -1;
    }
    memcpy(&threshold, in, sizeof threshold);
    if (!(threshold >= 0) || !isfinite(threshold)) {
        fprintf(stderr, "dsrbench: dsr: saved threshold H %g is not a finite number >= 0\n",
                threshold);
        return -1;
    }
    st->threshold = threshold;
    return 0;
}

static void dsr_free_state(struct method_run *run)
{
    struct dsr_state *st = run->state;
    if (!st)
        return;
    realloc_scratch_free(&st->scratch);
    free(st);
    run->state = NULL;
}

const struct method method_dsr = {
    .name = "dsr",
    .summary = "dynamic sparse reparameterization: global adaptive magnitude threshold, "
               "regrowth split by surviving weights (Mostafa & Wang 2019)",
    .sparse = 1,
    .options = dsr_options,
    .n_options = DSR_OPTIONS,
    .configure = dsr_configure,
    .init = dsr_init,
    .after_step = dsr_after_step,
    .stats = dsr_stats,
    .state_size = dsr_state_size,
    .state_save = dsr_state_save,
    .state_load = dsr_state_load,
    .free_state = dsr_free_state,
};
