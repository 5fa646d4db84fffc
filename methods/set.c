/* Sparse evolutionary training (Mocanu et al. 2018; the spec is PAPER.md
 * "Baselines", SET). On DSR's schedule (same P, doubling epochs and stop
 * epoch, realloc_schedule.h), every tensor on its own deactivates its
 * int(zeta * M_l) + 1 active weights of smallest |w| and regrows as many at
 * zero, uniformly among its positions that were inactive before the prune.
 * Every tensor keeps its active count M_l, so the budget never changes.
 *
 * zeta: PAPER.md chooses it so that about N_p weights move per reallocation,
 * zeta = N_p / ((1 - s) * sum N_l), with s the run's sparsity and N_p DSR's
 * default for the model (WRN-28-2 at s = 0.9..0.5: 0.138, 0.069, 0.046,
 * 0.034, 0.028).
 *
 * A tensor moves at most min(M_l, N_l - M_l) weights: it cannot prune more
 * than it holds, and a pruned weight may only come back at a position that was
 * inactive before this prune. When int(zeta * M_l) + 1 exceeds that (tensors
 * more than half active, or zeta near 1) the count is clamped to it; a tensor
 * with no active or no inactive position moves nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "method.h"
#include "realloc.h"
#include "realloc_schedule.h"

enum set_option {
    /* SCHEDULE_NP .. SCHEDULE_STOP_EPOCH come first (realloc_schedule.h) */
    OPT_ZETA = SCHEDULE_OPTIONS,
    SET_OPTIONS
};

/* 0 asks for PAPER.md's value for the model */
static const struct method_option set_options[SET_OPTIONS] = {
    REALLOC_SCHEDULE_OPTIONS,
    [OPT_ZETA] = {"zeta", 0, 0, 1,
                  "fraction of each tensor's active weights moved per reallocation (0: "
                  "N_p / ((1 - sparsity) * sparse positions))"},
};

enum { SET_STATS = 4 };

struct set_state {
    struct realloc_scratch scratch;
    size_t *active;       /* per tensor: M_l, which no reallocation may change */
    /* since the last stats call */
    size_t pruned, grown;
    long reallocations;
};

static int set_configure(struct method_run *run, struct model_spec *spec)
{
    return realloc_schedule_configure("set", run->option, spec);
}

/* PAPER.md's zeta: about N_p weights move per reallocation */
static double derived_zeta(const struct method_run *run)
{
    return run->option[SCHEDULE_NP] / ((1.0 - run->sparsity) * (double)run->store.positions);
}

static void set_free_state(struct method_run *run)
{
    struct set_state *st = run->state;
    if (!st)
        return;
    realloc_scratch_free(&st->scratch);
    free(st->active);
    free(st);
    run->state = NULL;
}

static int set_init(struct method_run *run)
{
    const struct sparse_store *store = &run->store;
    struct set_state *st = calloc(1, sizeof *st);
    run->state = st;
    if (!st || realloc_scratch_init(&st->scratch, store) != 0 ||
        !(st->active = malloc((size_t)store->count * sizeof *st->active))) {
        set_free_state(run);
        fprintf(stderr, "dsrbench: set: out of memory for the reallocation scratch\n");
        return -1;
    }
    for (int l = 0; l < store->count; l++)
        st->active[l] = store->tensors[l].active;
    realloc_schedule_resolve_np(run->option, store);
    if (run->option[OPT_ZETA] == 0)
        run->option[OPT_ZETA] = derived_zeta(run);
    return 0;
}

/* int(zeta * M_l) + 1, clamped to what the tensor holds and has room for */
static size_t moves_in(const struct sparse_tensor *t, double zeta)
{
    const size_t wanted = (size_t)(zeta * (double)t->active) + 1;
    const size_t free_positions = t->param->count - t->active;
    const size_t most = t->active < free_positions ? t->active : free_positions;
    return wanted < most ? wanted : most;
}

/* the budget, total and per tensor, after a reallocation; aborts when broken */
static void check_budget(const struct method_run *run, const struct set_state *st,
                         size_t pruned, size_t grown, long iteration)
{
    for (int l = 0; l < run->store.count; l++) {
        const struct sparse_tensor *t = &run->store.tensors[l];
        if (t->active != st->active[l] || pruned != grown) {
            fprintf(stderr,
                    "dsrbench: set: the reallocation after iteration %ld broke the budget: %s "
                    "has %zu active, expected %zu (pruned %zu, grown %zu in all)\n",
                    iteration, t->param->name, t->active, st->active[l], pruned, grown);
            abort();
        }
    }
}

static void reallocate(struct method_run *run, long iteration)
{
    struct set_state *st = run->state;
    struct realloc_scratch *s = &st->scratch;
    struct sparse_store *store = &run->store;
    realloc_begin(store, s);
    for (int l = 0; l < store->count; l++)
        realloc_prune_smallest(store, s, l, moves_in(&store->tensors[l], run->option[OPT_ZETA]));
    const size_t pruned = realloc_tally(store, s);
    realloc_redistribute_same_tensor(s);
    const size_t grown = realloc_grow_random(store, s, 0.0f, &run->stream);
    check_budget(run, st, pruned, grown, iteration);
    st->pruned += pruned;
    st->grown += grown;
    st->reallocations++;
}

static void set_after_step(void *ctx, struct net *net, const struct train_position *pos)
{
    struct method_run *run = ctx;
    (void)net;
    if (realloc_schedule_due(run->option, pos))
        reallocate(run, pos->iteration);
}

static int set_stats(struct method_run *run, struct method_stat *out, int max)
{
    struct set_state *st = run->state;
    const struct method_stat stats[SET_STATS] = {
        {"zeta", run->option[OPT_ZETA]},
        {"pruned", (double)st->pruned},
        {"grown", (double)st->grown},
        {"reallocations", (double)st->reallocations},
    };
    const int n = method_stats_copy(out, max, stats, SET_STATS);
    st->pruned = st->grown = 0;
    st->reallocations = 0;
    return n;
}

const struct method method_set = {
    .name = "set",
    .summary = "sparse evolutionary training: per tensor, the smallest-magnitude fraction zeta "
               "regrown at random on DSR's schedule (Mocanu et al. 2018)",
    .sparse = 1,
    .options = set_options,
    .n_options = SET_OPTIONS,
    .configure = set_configure,
    .init = set_init,
    .after_step = set_after_step,
    .stats = set_stats,
    .free_state = set_free_state,
};
