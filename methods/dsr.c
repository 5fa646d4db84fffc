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

#include "dsr.h"
#include "realloc.h"

enum dsr_option {
    /* SCHEDULE_NP .. SCHEDULE_STOP_EPOCH come first (realloc_schedule.h) */
    OPT_DELTA = SCHEDULE_OPTIONS,
    OPT_H0,
};

/* 0 asks for PAPER.md's value for the model */
const struct method_option dsr_options[DSR_OPTIONS] = {
    REALLOC_SCHEDULE_OPTIONS,
    [OPT_DELTA] = {"delta", 0.1, 0, 1, "tolerance around N_p before H moves (0: 0.1)"},
    [OPT_H0] = {"h0", 1e-3, 0, 1e3, "initial pruning threshold H (0: 1e-3)"},
};

enum { DSR_STATS = 4 };

struct dsr_state {
    double threshold; /* H, persists across epochs */
    struct realloc_scratch scratch;
    /* since the last stats call */
    size_t pruned, grown;
    long reallocations;
};

static int dsr_configure(struct method_run *run, struct model_spec *spec)
{
    double *o = run->option;
    if (o[OPT_DELTA] == 0)
        o[OPT_DELTA] = 0.1;
    if (o[OPT_H0] == 0)
        o[OPT_H0] = 1e-3;
    return realloc_schedule_configure("dsr", o, spec);
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
    realloc_schedule_resolve_np(run->option, store);
    st->threshold = run->option[OPT_H0];
    run->state = st;
    return 0;
}

/* Algorithm 1's feedback: prune more when too few moved, fewer when too many */
static void adapt_threshold(struct dsr_state *st, size_t pruned, const double *o)
{
    const double k = (double)pruned, np = o[SCHEDULE_NP], delta = o[OPT_DELTA];
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
    if (realloc_schedule_due(run->option, pos))
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
    const int n = method_stats_copy(out, max, stats, DSR_STATS);
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
