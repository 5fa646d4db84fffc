/* COMPACT storage of masked weights (param_storage.h): a weight on the sparse
 * kernels stores its active entries only, through every reallocation of a
 * DSR run; and it is exact: twins, one on the dense kernels (DENSE storage),
 * one on the sparse or auto kernels, given the same gradients, mask changes
 * and optimizer steps hold the same values and momentum bit for bit at every
 * position, a regrown weight inheriting its decayed buffer m^k * buf, but
 * for a buffer decayed below FLT_MIN, which COMPACT drops as +0 where
 * rounding leaves the dense path a subnormal; auto's flips between the
 * modes lose nothing; and checkpoints are the same file and resume exactly. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "method_fixture.h"
#include "net_kernels.h"
#include "optim.h"
#include "param_storage.h"
#include "sparse.h"
#include "testutil.h"

extern const struct method method_dsr;

static const struct sgd_config sgd = {.momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = 1};
#define LR 0.1f

/* ---- twins: one linear layer 8 -> 6, half its 48 weights active ---- */

struct tiny {
    struct net *net;
    struct sparse_store store;
};

static void tiny_setup(struct tiny *t, enum net_kernels kernels)
{
    t->net = net_create(1, 1, 8);
    cr_assert_not_null(t->net);
    cr_assert_geq(net_linear(t->net, "fc", net_flatten(t->net, 0), 6, 1), 0);
    struct rng weights = rng_stream(5, RNG_WEIGHT_INIT), masks = rng_stream(5, RNG_MASK_INIT);
    net_init_params(t->net, &weights);
    cr_assert_eq(sparse_store_init(&t->store, t->net), 0);
    sparse_store_random_masks(&t->store, 0.5, &masks);
    t->net->kernels = kernels;
    net_sync_params(t->net);
}

static void tiny_free(struct tiny *t)
{
    sparse_store_free(&t->store);
    net_free(t->net);
}

static struct param *weight(struct tiny *t)
{
    return t->store.tensors[0].param;
}

/* the same gradient at every active position of both storages, as a
 * backward pass leaves them (0 at inactive positions), and for the bias */
static void set_grads(struct tiny *t, int step)
{
    for (int i = 0; i < t->net->n_params; i++) {
        struct param *p = t->net->params[i];
        for (size_t k = 0; k < param_stored(p); k++) {
            const size_t pos = param_stored_pos(p, k);
            const int active = !p->mask || p->mask[pos];
            p->grad[k] = active ? 0.1f * sinf(0.37f * (float)pos + (float)step) : 0.0f;
        }
    }
}

static void tiny_step(struct tiny *t, int step)
{
    net_sync_params(t->net); /* as net_forward does */
    set_grads(t, step);
    sgd_step(t->net, &sgd, LR);
}

/* both twins' values and momentum, bit for bit at every position */
static void expect_twins_equal(struct tiny *a, struct tiny *b, const char *when)
{
    for (int i = 0; i < a->net->n_params; i++) {
        const struct param *p = a->net->params[i], *q = b->net->params[i];
        float *x = malloc(sizeof(float) * p->count), *y = malloc(sizeof(float) * p->count);
        cr_assert(x && y);
        param_dense_values(p, x);
        param_dense_values(q, y);
        cr_expect_eq(memcmp(x, y, sizeof(float) * p->count), 0, "%s: %s values differ", when,
                     p->name);
        param_dense_momentum(p, x);
        param_dense_momentum(q, y);
        size_t differ = 0;
        for (size_t j = 0; j < p->count; j++) {
            const int flushed = y[j] == 0.0f && !signbit(y[j]) && fabsf(x[j]) < FLT_MIN;
            differ += memcmp(&x[j], &y[j], sizeof(float)) != 0 && !(b->net->kernels !=
                      NET_KERNELS_DENSE && flushed);
        }
        cr_expect_eq(differ, 0, "%s: %s momentum differs at %zu positions", when, p->name,
                     differ);
        free(x);
        free(y);
    }
}

static float dense_momentum_at(const struct param *p, size_t pos)
{
    float *m = malloc(sizeof(float) * p->count);
    cr_assert_not_null(m);
    param_dense_momentum(p, m);
    const float v = m[pos];
    free(m);
    return v;
}

/* the n-th (from 0) position of the weight whose mask bit is `active` */
static size_t nth_position(struct tiny *t, int active, int n)
{
    const struct param *p = weight(t);
    for (size_t i = 0; i < p->count; i++)
        if ((p->mask[i] != 0) == active && n-- == 0)
            return i;
    cr_assert_fail("the weight has too few %s positions", active ? "active" : "inactive");
    return 0;
}

Test(compact_storage, regrown_weight_inherits_its_decayed_momentum)
{
    struct tiny tw[2];
    tiny_setup(&tw[0], NET_KERNELS_DENSE);
    tiny_setup(&tw[1], NET_KERNELS_SPARSE);
    cr_assert_null(weight(&tw[0])->compact);
    cr_assert_not_null(weight(&tw[1])->compact);
    cr_expect_eq(weight(&tw[1])->compact->stored, tw[1].store.tensors[0].active);
    const size_t x = nth_position(&tw[0], 1, 0), y = nth_position(&tw[0], 1, 1);
    const size_t z = nth_position(&tw[0], 1, 2), w = nth_position(&tw[0], 0, 0);
    enum { PRUNE = 3, K = 7, LATE = 1200 };
    float at_pruning = 0.0f;
    for (int step = 1; step <= LATE + 3; step++) {
        for (int i = 0; i < 2; i++)
            tiny_step(&tw[i], step);
        expect_twins_equal(&tw[0], &tw[1], "after a step");
        for (int i = 0; i < 2; i++) {
            struct sparse_tensor *t = &tw[i].store.tensors[0];
            if (step == PRUNE) {
                sparse_deactivate(t, x);
                sparse_deactivate(t, y);
                sparse_deactivate(t, z); /* and back before any sync: value new, buffer kept */
                sparse_activate(t, z, 0.5f);
                sparse_activate(t, w, -0.125f); /* never active: its buffer is 0 */
            } else if (step == PRUNE + K) {
                sparse_activate(t, x, 0.25f);
            } else if (step == LATE - 1) {
                sparse_deactivate(t, z); /* a sync that merges, with y long at rest */
            } else if (step == LATE) {
                sparse_activate(t, y, 0.75f);
            }
        }
        expect_twins_equal(&tw[0], &tw[1], "after the mask changes");
        if (step == PRUNE) {
            at_pruning = dense_momentum_at(weight(&tw[0]), x);
            cr_assert_neq(at_pruning, 0.0f);
        }
        if (step == PRUNE + K) {
            float want = at_pruning;
            for (int k = 0; k < K; k++)
                want = sgd.momentum * want + 0.0f;
            cr_expect_eq(dense_momentum_at(weight(&tw[0]), x), want);
            cr_expect_eq(dense_momentum_at(weight(&tw[1]), x), want, "m^%d * buf", K);
            cr_expect_eq(weight(&tw[1])->compact->n_resting, 2, "x and y were resting");
        }
        if (step == LATE - 1) {
            /* rounding to nearest stops the dense path's decay at a few
             * subnormals; COMPACT flushed y's buffer and let it go */
            const float rest = dense_momentum_at(weight(&tw[0]), y);
            cr_expect(rest != 0.0f && fpclassify(rest) == FP_SUBNORMAL,
                      "y's dense buffer after %d idle steps: %g", LATE - 1 - PRUNE,
                      (double)rest);
            cr_expect_eq(dense_momentum_at(weight(&tw[1]), y), 0.0f);
            net_sync_params(tw[1].net);
            cr_expect_eq(weight(&tw[1])->compact->n_resting, 1, "z rests, y was flushed");
        }
    }
    cr_expect_eq(dense_momentum_at(weight(&tw[1]), y) == 0.0f, 0,
                 "y regrown and trained again");
    net_sync_params(tw[1].net);
    cr_expect_eq(weight(&tw[1])->compact->stored, tw[1].store.tensors[0].active);
    tiny_free(&tw[0]);
    tiny_free(&tw[1]);
}

/* deactivates (or, with activate, activates at 0) positions until n are active */
static void make_active(struct tiny *t, size_t n)
{
    struct sparse_tensor *st = &t->store.tensors[0];
    for (size_t i = 0; i < st->param->count && st->active > n; i++)
        if (st->param->mask[i])
            sparse_deactivate(st, i);
    for (size_t i = 0; i < st->param->count && st->active < n; i++)
        if (!st->param->mask[i])
            sparse_activate(st, i, 0.0f);
}

Test(compact_storage, auto_flips_between_storages_losing_nothing)
{
    struct tiny tw[2];
    tiny_setup(&tw[0], NET_KERNELS_DENSE);
    tiny_setup(&tw[1], NET_KERNELS_AUTO);
    const double crossover = net_kernels_crossover(tw[1].net, &tw[1].net->layers[1]);
    const size_t count = weight(&tw[1])->count;
    /* density 0.5, 0.2, 0.5, 0.15: above, below, above, below the crossover */
    const size_t actives[] = {count / 2, count / 5, count / 2, count * 3 / 20};
    int step = 0;
    for (int phase = 0; phase < 4; phase++) {
        for (int i = 0; i < 2; i++)
            make_active(&tw[i], actives[phase]);
        for (int s = 0; s < 5; s++, step++) {
            for (int i = 0; i < 2; i++)
                tiny_step(&tw[i], step);
            expect_twins_equal(&tw[0], &tw[1], "after a step");
        }
        const int sparse = (double)actives[phase] < crossover * (double)count;
        cr_expect_eq(weight(&tw[1])->compact != NULL, sparse,
                     "phase %d at density %g (crossover %g)", phase,
                     (double)actives[phase] / (double)count, crossover);
    }
    tiny_free(&tw[0]);
    tiny_free(&tw[1]);
}

static void save(struct tiny *t, const char *path)
{
    const struct checkpoint_meta meta = {.model = "tiny", .method = "static", .sparsity = 0.5,
                                         .config = "", .iteration = 12};
    char err[512];
    cr_assert_eq(checkpoint_save(path, t->net, &meta, err, sizeof err), 0, "%s", err);
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(*size ? *size : 1);
    cr_assert_not_null(data);
    cr_assert_eq(fread(data, 1, *size, f), *size);
    fclose(f);
    return data;
}

Test(compact_storage, checkpoints_are_the_dense_file_and_resume_exactly)
{
    struct tiny tw[3];
    tiny_setup(&tw[0], NET_KERNELS_DENSE);
    tiny_setup(&tw[1], NET_KERNELS_SPARSE);
    const size_t x = nth_position(&tw[0], 1, 0);
    for (int step = 0; step < 6; step++)
        for (int i = 0; i < 2; i++) {
            tiny_step(&tw[i], step);
            if (step == 2)
                sparse_deactivate(&tw[i].store.tensors[0], x); /* resting at save */
        }
    char dir[] = "/tmp/dsrbench-compact-XXXXXX", paths[2][64];
    cr_assert_not_null(mkdtemp(dir));
    for (int i = 0; i < 2; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%d.ckpt", dir, i);
        save(&tw[i], paths[i]);
    }
    size_t size[2];
    unsigned char *data[2] = {slurp(paths[0], &size[0]), slurp(paths[1], &size[1])};
    cr_expect(size[0] == size[1] && memcmp(data[0], data[1], size[0]) == 0,
              "the COMPACT twin's checkpoint differs from the DENSE twin's");
    free(data[0]);
    free(data[1]);

    /* a fresh net resumed from the COMPACT file continues exactly */
    tiny_setup(&tw[2], NET_KERNELS_SPARSE);
    char err[512];
    cr_assert_eq(checkpoint_load_into(paths[1], tw[2].net, &tw[2].store, "tiny", CHECKPOINT_ALL,
                                      err, sizeof err),
                 0, "%s", err);
    expect_twins_equal(&tw[1], &tw[2], "after loading");
    for (int step = 6; step < 12; step++)
        for (int i = 1; i < 3; i++) {
            tiny_step(&tw[i], step);
            if (step == 8)
                sparse_activate(&tw[i].store.tensors[0], x, 0.5f); /* back from resting */
        }
    expect_twins_equal(&tw[1], &tw[2], "six steps after loading");
    for (int i = 0; i < 3; i++)
        tiny_free(&tw[i]);
    for (int i = 0; i < 2; i++)
        unlink(paths[i]);
    rmdir(dir);
}

/* ---- a DSR run on LeNet-300-100 at 0.98 on the sparse kernels ---- */

enum { BATCH = 8 };

Test(compact_storage, dsr_run_stores_only_active_entries)
{
    static const char *const options[] = {"period=3", NULL};
    struct method_fixture f;
    method_fixture_setup(&f, &method_dsr,
                         (struct method_setup){.sparsity = 0.98, .seed = 4, .options = options});
    cr_assert_eq(net_set_capacity(f.net, BATCH), 0);
    f.net->kernels = NET_KERNELS_SPARSE;
    struct rng r = rng_stream(4, RNG_DATA_ORDER);
    int32_t labels[BATCH];
    double pruned = 0.0;
    for (long it = 0; it < 30; it++) {
        fill_normal(&r, net_input(f.net), (size_t)28 * 28 * BATCH);
        for (int i = 0; i < BATCH; i++)
            labels[i] = (int32_t)rng_below(&r, 10);
        net_forward(f.net, BATCH, 1);
        softmax_cross_entropy(BATCH, 10, net_logits(f.net), labels, net_logits_grad(f.net),
                              NULL);
        net_backward(f.net, BATCH);
        sgd_step(f.net, &sgd, 0.05f);
        method_fixture_hook(&f, method_dsr.after_step, 0, it);
        method_fixture_expect_consistent(&f); /* syncs, then checks */
        for (int t = 0; t < f.run.store.count; t++) {
            const struct sparse_tensor *st = &f.run.store.tensors[t];
            cr_assert_not_null(st->param->compact, "%s is not COMPACT", st->param->name);
            cr_expect_eq(st->param->compact->stored, st->active,
                         "%s after iteration %ld: %zu stored for %zu active", st->param->name,
                         it, st->param->compact->stored, st->active);
        }
    }
    const char *const names[] = {"H", "pruned", "grown", "reallocations"};
    double stats[4];
    method_fixture_stats(&f, names, stats, 4);
    pruned = stats[1];
    cr_expect_gt(stats[3], 0.0, "no reallocation ran");
    cr_expect_gt(pruned, 0.0, "the reallocations changed no mask");
    method_fixture_free(&f);
}
