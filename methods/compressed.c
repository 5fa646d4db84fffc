/* Compressed sparse: Zhu & Gupta's gradual magnitude pruning (PAPER.md
 * "Baselines"). Starts with every position active, from a trained dense run's
 * weights and optimizer state (--from DIR) or from scratch with the dense
 * phase in the same run (first_prune = the dense epochs), and prunes every
 * sparse tensor by the same fraction, smallest |w| first, at the end of epochs
 * first_prune, first_prune + every, ...: `prunes` prunes in all. After prune k
 * every tensor keeps int((1 - s_k) * N_l + 0.1) weights, PAPER.md's initial
 * count at sparsity s_k, so the last prune lands exactly on the budget of the
 * other methods. s_k is
 *   cubic:    s_f * (1 - (1 - k/prunes)^3)       (WRN, LeNet)
 *   constant: 1 - (1 - s_f)^(k/prunes)           (ResNet-50: the same fraction
 *             1 - (1 - s_f)^(1/prunes) of the remaining weights every prune)
 * Pruned weights never come back. Its learning rate is the gmp-cifar /
 * gmp-imagenet schedule (lr 0 in the first epoch of the pruning phase). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "method.h"
#include "realloc.h"

enum compressed_option { OPT_FIRST, OPT_EVERY, OPT_PRUNES, OPT_SHAPE, COMPRESSED_OPTIONS };
enum shape { SHAPE_MODEL_DEFAULT, SHAPE_CUBIC, SHAPE_CONSTANT };

static const struct method_option compressed_options[COMPRESSED_OPTIONS] = {
    [OPT_FIRST] = {"first_prune", 0, 0, 1e6,
                   "epoch at whose end the first prune happens (the dense epochs before it)"},
    [OPT_EVERY] = {"every", 2, 1, 1e6, "epochs between prunes"},
    [OPT_PRUNES] = {"prunes", 20, 1, 1e6, "number of prunes; the last reaches --sparsity"},
    [OPT_SHAPE] = {"shape", 0, 0, 2,
                   "1 cubic, 2 constant fraction (0: constant for ResNet-50, else cubic)"},
};

struct compressed_state {
    struct realloc_scratch scratch;
    size_t pruned; /* since the last stats call */
    int prunes_done;
};

static int compressed_configure(struct method_run *run, struct model_spec *spec)
{
    double *o = run->option;
    for (int i = OPT_FIRST; i <= OPT_PRUNES; i++) {
        if (o[i] != floor(o[i])) {
            fprintf(stderr, "dsrbench: compressed: %s = %g: expected a whole number\n",
                    compressed_options[i].name, o[i]);
            return -1;
        }
    }
    if (o[OPT_SHAPE] != floor(o[OPT_SHAPE])) {
        fprintf(stderr, "dsrbench: compressed: shape = %g: expected 0, 1 or 2\n", o[OPT_SHAPE]);
        return -1;
    }
    if (o[OPT_SHAPE] == SHAPE_MODEL_DEFAULT)
        o[OPT_SHAPE] = spec->family == MODEL_RESNET_50 ? SHAPE_CONSTANT : SHAPE_CUBIC;
    return 0;
}

static int compressed_init(struct method_run *run)
{
    const double *o = run->option;
    const double last = o[OPT_FIRST] + o[OPT_EVERY] * (o[OPT_PRUNES] - 1);
    if (last >= run->epochs) {
        fprintf(stderr,
                "dsrbench: compressed: the last of %g prunes follows epoch %g (first_prune %g, "
                "every %g), but the run has %d epochs (0..%d): the budget would never be "
                "reached; train longer or prune sooner\n",
                o[OPT_PRUNES], last, o[OPT_FIRST], o[OPT_EVERY], run->epochs, run->epochs - 1);
        return -1;
    }
    if (run->source) {
        /* Zhu & Gupta prune a trained dense net: its weights, momentum and BN statistics */
        char path[4200], err[1200];
        snprintf(path, sizeof path, "%s/final.ckpt", run->source->dir);
        if (checkpoint_load_into(path, run->net, &run->store, run->model_name,
                                 CHECKPOINT_WEIGHTS, err, sizeof err) != 0) {
            fprintf(stderr, "dsrbench: compressed: the dense net to prune: %s\n", err);
            return -1;
        }
    }
    struct compressed_state *st = calloc(1, sizeof *st);
    if (!st || realloc_scratch_init(&st->scratch, &run->store) != 0) {
        free(st);
        fprintf(stderr, "dsrbench: compressed: out of memory for the pruning scratch\n");
        return -1;
    }
    run->state = st;
    return 0;
}

/* sparsity after k of n prunes towards final */
static double sparsity_after(int shape, double final, int k, int n)
{
    const double done = (double)k / n;
    if (shape == SHAPE_CONSTANT)
        return 1.0 - pow(1.0 - final, done);
    return final * (1.0 - pow(1.0 - done, 3));
}

/* prune number (1-based) that follows this epoch, or 0 */
static int prune_after(const double *o, int epoch)
{
    const int first = (int)o[OPT_FIRST], every = (int)o[OPT_EVERY];
    if (epoch < first || (epoch - first) % every != 0)
        return 0;
    const int k = (epoch - first) / every + 1;
    return k <= (int)o[OPT_PRUNES] ? k : 0;
}

static void compressed_end_epoch(void *ctx, struct net *net, const struct train_position *pos)
{
    struct method_run *run = ctx;
    struct compressed_state *st = run->state;
    (void)net;
    const int k = prune_after(run->option, pos->epoch);
    if (k == 0)
        return;
    const double target = sparsity_after((int)run->option[OPT_SHAPE], run->sparsity,
                                                    k, (int)run->option[OPT_PRUNES]);
    realloc_begin(&run->store, &st->scratch);
    for (int l = 0; l < run->store.count; l++) {
        const struct sparse_tensor *t = &run->store.tensors[l];
        const size_t keep = sparse_initial_active(t->param->count, target);
        if (t->active > keep)
            realloc_prune_smallest(&run->store, &st->scratch, l, t->active - keep);
    }
    st->pruned += realloc_tally(&run->store, &st->scratch);
    st->prunes_done = k;
}

static int compressed_stats(struct method_run *run, struct method_stat *out, int max)
{
    struct compressed_state *st = run->state;
    const struct method_stat stats[] = {
        {"pruned", (double)st->pruned},
        {"prunes_done", (double)st->prunes_done},
    };
    const int n = method_stats_copy(out, max, stats, 2);
    st->pruned = 0;
    return n;
}

/* prunes_done is the one value a resumed run cannot read off its epoch */
static size_t compressed_state_size(const struct method_run *run)
{
    (void)run;
    return sizeof(int32_t);
}

static void compressed_state_save(const struct method_run *run, void *out)
{
    const struct compressed_state *st = run->state;
    const int32_t done = st->prunes_done;
    memcpy(out, &done, sizeof done);
}

static int compressed_state_load(struct method_run *run, const void *in, size_t size)
{
    struct compressed_state *st = run->state;
    int32_t done;
    if (size != sizeof done) {
        fprintf(stderr, "dsrbench: compressed: checkpoint state of %zu bytes, expected %zu\n",
                size, sizeof done);
        return -1;
    }
    memcpy(&done, in, sizeof done);
    st->prunes_done = done;
    return 0;
}

static void compressed_free_state(struct method_run *run)
{
    struct compressed_state *st = run->state;
    if (!st)
        return;
    realloc_scratch_free(&st->scratch);
    free(st);
    run->state = NULL;
}

const struct method method_compressed = {
    .name = "compressed",
    .summary = "gradual magnitude pruning of a dense net to the budget (Zhu & Gupta 2017)",
    .sparse = 1,
    .mask = MASK_ALL_ACTIVE,
    .from = FROM_OPTIONAL,
    .from_help = "a trained dense run whose final.ckpt (weights, momentum, BN statistics) is "
                 "pruned",
    .options = compressed_options,
    .n_options = COMPRESSED_OPTIONS,
    .configure = compressed_configure,
    .init = compressed_init,
    .end_epoch = compressed_end_epoch,
    .stats = compressed_stats,
    .state_size = compressed_state_size,
    .state_save = compressed_state_save,
    .state_load = compressed_state_load,
    .free_state = compressed_free_state,
};
