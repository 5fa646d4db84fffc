/* Deep rewiring (Bellec et al. 2018; the spec is PAPER.md "Baselines",
 * DeepR). Every iteration before the stop epoch:
 *   after_backward: the gradient of every active sparse weight gets Gaussian
 *     noise of std sqrt(2 * eta * T), T the temperature of the epoch;
 *   after_step: active weights whose sign differs from the sign stored when
 *     they were activated are deactivated, and as many are regrown in the same
 *     tensor, uniformly among its positions that were inactive before this
 *     step, at value 0.
 * In every epoch the gradient of the sparse weights also gets l1 * sign(w),
 * the gradient of the L1 penalty l1 * sum |W|: the reference code adds that
 * penalty to the loss in every epoch, not only before the stop epoch, and
 * sign(0) = 0 as in PyTorch. DeepR runs without weight decay (PAPER.md): the
 * run sets --weight-decay 0.
 *
 * Stored signs, one int8 per position of every sparse tensor:
 * - at init, sign(w) of every active weight as initialized (PAPER.md); with
 *   reference_quirk = 1, a fair random sign per active weight from the method
 *   stream instead. The reference code records its signs in the sparse
 *   tensor's constructor, from its own uniform draw, and the model's
 *   initializer then draws the weights anew; its stored signs are therefore
 *   independent of the weights training starts from, and about half of them
 *   disagree, which rewires about half of the weights after the first step.
 * - a weight grown at 0 has no sign yet: it stores 0 and takes the sign of its
 *   first non-zero value. That is what the reference code does (it stores the
 *   signs of the step before, where a new weight was an inactive 0); Bellec et
 *   al.'s own code instead draws a random sign for a new connection, which
 *   would deactivate about half of the new weights right after their first
 *   step, as the gradient decides the direction they move in.
 * - a stored sign never changes while its weight is active; an active weight
 *   that lands exactly on 0 keeps its stored sign (0 differs from no sign).
 *   Inactive positions store 0.
 *
 * Budget: a tensor regrows exactly what it lost, so every tensor keeps its
 * active count; that needs room, so every tensor must have at most half its
 * positions active (sparsity >= 0.5, as every PAPER.md setup has). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "realloc.h"
#include "realloc_schedule.h"

enum deepr_option {
    OPT_ETA,
    OPT_L1,
    OPT_T_EPOCH1,
    OPT_T_EPOCH2,
    OPT_T_EPOCH3,
    OPT_STOP_EPOCH,
    OPT_REFERENCE_QUIRK,
    DEEPR_OPTIONS
};

static const struct method_option deepr_options[DEEPR_OPTIONS] = {
    [OPT_ETA] = {"eta", 0.01, 0, 1e3,
                 "noise scale: gradient noise std sqrt(2 * eta * T) (0: no noise)"},
    [OPT_L1] = {"l1", 1e-5, 0, 1, "L1 penalty l1 * sum |W| on the sparse weights (0: none)"},
    [OPT_T_EPOCH1] = {"t_epoch1", 0, 0, 1e6, "epoch where T drops from 1e-5 to 1e-8 (0: 25)"},
    [OPT_T_EPOCH2] = {"t_epoch2", 0, 0, 1e6,
                      "epoch where T drops to 1e-12 (0: 80; ResNet-50 50)"},
    [OPT_T_EPOCH3] = {"t_epoch3", 0, 0, 1e6,
                      "epoch where T drops to 1e-15 (0: 140; ResNet-50 75)"},
    [OPT_STOP_EPOCH] = {"stop_epoch", 0, 0, 1e6,
                        "first epoch without noise and rewiring (0: 190; ResNet-50 95)"},
    [OPT_REFERENCE_QUIRK] = {"reference_quirk", 0, 0, 1,
                             "1: stored signs independent of the initial weights, as the "
                             "reference code has them (rewires ~50% at the first step)"},
};

/* PAPER.md's temperatures, one per stretch between the switch epochs */
static const double temperatures[4] = {1e-5, 1e-8, 1e-12, 1e-15};

enum { DEEPR_STATS = 4 };

/* the checkpoint: a header, then one int8 per store position */
#define DEEPR_STATE_MAGIC 0x52504544u /* "DEPR" */
#define DEEPR_STATE_VERSION 1u
struct deepr_state_header {
    uint32_t magic, version;
    uint64_t positions;
};

struct deepr_state {
    struct realloc_scratch scratch;
    int8_t *sign;    /* per store position, tensors back to back at scratch.offset */
    size_t *active;  /* per tensor: M_l, which no step may change */
    double temperature; /* of the latest step, 0 once stopped */
    /* since the last stats call */
    size_t flipped, grown;
    long rewiring_steps;
};

static int is_count(double v)
{
    return v >= 0 && v == floor(v);
}

static int deepr_configure(struct method_run *run, struct model_spec *spec)
{
    double *o = run->option;
    /* PAPER.md's temperature switches fall on the epochs where DSR's P doubles */
    static const enum schedule_option paper[4] = {SCHEDULE_P_EPOCH1, SCHEDULE_P_EPOCH2,
                                                  SCHEDULE_P_EPOCH3, SCHEDULE_STOP_EPOCH};
    for (int i = 0; i < 4; i++)
        if (o[OPT_T_EPOCH1 + i] == 0)
            o[OPT_T_EPOCH1 + i] = realloc_schedule_paper_value(paper[i], spec);
    if (!is_count(o[OPT_T_EPOCH1]) || !is_count(o[OPT_T_EPOCH2]) || !is_count(o[OPT_T_EPOCH3]) ||
        !is_count(o[OPT_STOP_EPOCH]) || o[OPT_T_EPOCH1] > o[OPT_T_EPOCH2] ||
        o[OPT_T_EPOCH2] > o[OPT_T_EPOCH3]) {
        fprintf(stderr, "dsrbench: deepr: t_epoch1..3 = %g %g %g and stop_epoch %g: expected "
                        "whole numbers, t_epoch1..3 in rising order\n",
                o[OPT_T_EPOCH1], o[OPT_T_EPOCH2], o[OPT_T_EPOCH3], o[OPT_STOP_EPOCH]);
        return -1;
    }
    if (o[OPT_REFERENCE_QUIRK] != 0 && o[OPT_REFERENCE_QUIRK] != 1) {
        fprintf(stderr, "dsrbench: deepr: reference_quirk %g: expected 0 or 1\n",
                o[OPT_REFERENCE_QUIRK]);
        return -1;
    }
    return 0;
}

static int8_t sign_of(float w)
{
    return (int8_t)((w > 0.0f) - (w < 0.0f));
}

static void deepr_free_state(struct method_run *run)
{
    struct deepr_state *st = run->state;
    if (!st)
        return;
    realloc_scratch_free(&st->scratch);
    free(st->sign);
    free(st->active);
    free(st);
    run->state = NULL;
}

/* every tensor needs as many inactive positions as it has active ones */
static int check_room(const struct method_run *run)
{
    for (int l = 0; l < run->store.count; l++) {
        const struct sparse_tensor *t = &run->store.tensors[l];
        if (2 * t->active > t->param->count) {
            fprintf(stderr,
                    "dsrbench: deepr: sparsity %g leaves %s with %zu of %zu positions active; "
                    "DeepR regrows in the same tensor at positions not pruned in the same "
                    "step and needs at most half of every tensor active (sparsity >= 0.5)\n",
                    run->sparsity, t->param->name, t->active, t->param->count);
            return -1;
        }
    }
    return 0;
}

/* the signs at init: of the weights, or fair coin flips (reference_quirk) */
static void record_initial_signs(struct method_run *run, struct deepr_state *st)
{
    const int quirk = run->option[OPT_REFERENCE_QUIRK] != 0;
    for (int l = 0; l < run->store.count; l++) {
        const struct param *p = run->store.tensors[l].param;
        int8_t *sign = st->sign + st->scratch.offset[l];
        memset(sign, 0, p->count);
        for (size_t k = 0; k < param_stored(p); k++) {
            const size_t i = param_stored_pos(p, k);
            if (!p->mask[i])
                continue;
            sign[i] = quirk ? (rng_below(&run->stream, 2) ? 1 : -1) : sign_of(p->value[k]);
        }
    }
}

static int deepr_init(struct method_run *run)
{
    const struct sparse_store *store = &run->store;
    if (check_room(run) != 0)
        return -1;
    struct deepr_state *st = calloc(1, sizeof *st);
    run->state = st;
    if (!st || realloc_scratch_init(&st->scratch, store) != 0 ||
        !(st->sign = malloc(store->positions > 0 ? store->positions : 1)) ||
        !(st->active = malloc((size_t)store->count * sizeof *st->active))) {
        deepr_free_state(run);
        fprintf(stderr, "dsrbench: deepr: out of memory for the sign vectors\n");
        return -1;
    }
    for (int l = 0; l < store->count; l++)
        st->active[l] = store->tensors[l].active;
    record_initial_signs(run, st);
    return 0;
}

static double temperature_at(const double *o, int epoch)
{
    int stretch = 0;
    for (int b = OPT_T_EPOCH1; b <= OPT_T_EPOCH3; b++)
        stretch += epoch >= (int)o[b];
    return temperatures[stretch];
}

static void deepr_after_backward(void *ctx, struct net *net, const struct train_position *pos)
{
    struct method_run *run = ctx;
    struct deepr_state *st = run->state;
    (void)net;
    const int rewiring = pos->epoch < (int)run->option[OPT_STOP_EPOCH];
    st->temperature = rewiring ? temperature_at(run->option, pos->epoch) : 0.0;
    const float std = (float)sqrt(2.0 * run->option[OPT_ETA] * st->temperature);
    const float l1 = (float)run->option[OPT_L1];
    for (int l = 0; l < run->store.count; l++) {
        const struct param *p = run->store.tensors[l].param;
        for (size_t k = 0; k < param_stored(p); k++) {
            if (!p->mask[param_stored_pos(p, k)])
                continue;
            /* drawn one by one in position order: the stream alone decides the noise */
            if (std > 0.0f)
                p->grad[k] += std * rng_normal(&run->stream);
            p->grad[k] += l1 * (float)sign_of(p->value[k]);
        }
    }
}

/* deactivates the active weights of tensor l whose sign flipped; weights
 * without a stored sign take their current one. Starts the prune (realloc_begin)
 * at the first flip of the step, when *begun is 0. */
static void deactivate_flipped(struct method_run *run, struct deepr_state *st, int l, int *begun)
{
    struct sparse_store *store = &run->store;
    const struct param *p = store->tensors[l].param;
    int8_t *sign = st->sign + st->scratch.offset[l];
    for (size_t k = 0; k < param_stored(p); k++) {
        const size_t i = param_stored_pos(p, k);
        if (!p->mask[i])
            continue;
        const int8_t now = sign_of(p->value[k]);
        if (sign[i] == 0) {
            sign[i] = now;
        } else if (now != 0 && now != sign[i]) {
            if (!*begun) {
                realloc_begin(store, &st->scratch);
                *begun = 1;
            }
            realloc_prune_at(store, &st->scratch, l, i);
            sign[i] = 0; /* inactive, and regrown without a sign */
        }
    }
}

/* every tensor's active count is what it was at init; aborts when not */
static void check_budget(const struct method_run *run, const struct deepr_state *st,
                         size_t flipped, size_t grown, long iteration)
{
    for (int l = 0; l < run->store.count; l++) {
        const struct sparse_tensor *t = &run->store.tensors[l];
        if (t->active != st->active[l] || flipped != grown) {
            fprintf(stderr,
                    "dsrbench: deepr: the rewiring after iteration %ld broke the budget: %s "
                    "has %zu active, expected %zu (deactivated %zu, grown %zu in all)\n",
                    iteration, t->param->name, t->active, st->active[l], flipped, grown);
            abort();
        }
    }
}

static void deepr_after_step(void *ctx, struct net *net, const struct train_position *pos)
{
    struct method_run *run = ctx;
    struct deepr_state *st = run->state;
    (void)net;
    if (pos->epoch >= (int)run->option[OPT_STOP_EPOCH])
        return;
    int begun = 0;
    for (int l = 0; l < run->store.count; l++)
        deactivate_flipped(run, st, l, &begun);
    st->rewiring_steps++;
    if (!begun)
        return;
    struct realloc_scratch *s = &st->scratch;
    const size_t flipped = realloc_tally(&run->store, s);
    realloc_redistribute_same_tensor(s);
    /* the grown positions were inactive, so they store sign 0 already */
    const size_t grown = realloc_grow_random(&run->store, s, 0.0f, &run->stream);
    check_budget(run, st, flipped, grown, pos->iteration);
    st->flipped += flipped;
    st->grown += grown;
}

static int deepr_stats(struct method_run *run, struct method_stat *out, int max)
{
    struct deepr_state *st = run->state;
    const struct method_stat stats[DEEPR_STATS] = {
        {"T", st->temperature},
        {"flipped", (double)st->flipped},
        {"grown", (double)st->grown},
        {"rewiring_steps", (double)st->rewiring_steps},
    };
    const int n = method_stats_copy(out, max, stats, DEEPR_STATS);
    st->flipped = st->grown = 0;
    st->rewiring_steps = 0;
    return n;
}

static size_t deepr_state_size(const struct method_run *run)
{
    return sizeof(struct deepr_state_header) + run->store.positions;
}

static void deepr_state_save(const struct method_run *run, void *out)
{
    const struct deepr_state *st = run->state;
    const struct deepr_state_header h = {.magic = DEEPR_STATE_MAGIC,
                                         .version = DEEPR_STATE_VERSION,
                                         .positions = run->store.positions};
    memcpy(out, &h, sizeof h);
    memcpy((char *)out + sizeof h, st->sign, run->store.positions);
}

static int deepr_state_load(struct method_run *run, const void *in, size_t size)
{
    struct deepr_state *st = run->state;
    struct deepr_state_header h;
    if (size < sizeof h) {
        fprintf(stderr, "dsrbench: deepr: the saved state has %zu bytes, fewer than its "
                        "%zu-byte header\n",
                size, sizeof h);
        return -1;
    }
    memcpy(&h, in, sizeof h);
    if (h.magic != DEEPR_STATE_MAGIC || h.version != DEEPR_STATE_VERSION ||
        h.positions != run->store.positions || size != deepr_state_size(run)) {
        fprintf(stderr,
                "dsrbench: deepr: the saved state (magic %#x, version %u, %llu positions, %zu "
                "bytes) does not fit this run (magic %#x, version %u, %zu positions, %zu "
                "bytes)\n",
                h.magic, h.version, (unsigned long long)h.positions, size, DEEPR_STATE_MAGIC,
                DEEPR_STATE_VERSION, run->store.positions, deepr_state_size(run));
        return -1;
    }
    const int8_t *sign = (const int8_t *)((const char *)in + sizeof h);
    for (size_t i = 0; i < h.positions; i++) {
        if (sign[i] < -1 || sign[i] > 1) {
            fprintf(stderr, "dsrbench: deepr: the saved sign at position %zu is %d, expected "
                            "-1, 0 or 1\n",
                    i, sign[i]);
            return -1;
        }
    }
    memcpy(st->sign, sign, h.positions);
    return 0;
}

const struct method method_deepr = {
    .name = "deepr",
    .summary = "deep rewiring: gradient noise and L1, sign-flipped weights regrown at random in "
               "the same tensor every step; run with --weight-decay 0 (Bellec et al. 2018)",
    .sparse = 1,
    .options = deepr_options,
    .n_options = DEEPR_OPTIONS,
    .configure = deepr_configure,
    .init = deepr_init,
    .after_backward = deepr_after_backward,
    .after_step = deepr_after_step,
    .stats = deepr_stats,
    .state_size = deepr_state_size,
    .state_save = deepr_state_save,
    .state_load = deepr_state_load,
    .free_state = deepr_free_state,
};
