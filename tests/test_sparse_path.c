/* Whole nets on the sparse kernels (net->kernels, --kernels): one step's
 * logits and gradients equal the dense masked path's; a changed mask is
 * picked up; weights without a mask stay on the dense kernels; and short
 * training runs of DSR and SET give the same accuracy curve either way. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "method_fixture.h"
#include "net_kernels.h"
#include "param_storage.h"
#include "sparse.h"
#include "testutil.h"
#include "train_run.h"

enum { BATCH = 5 };

/* Through a whole net the two paths' rounding differences pass through
 * batch norms, which divide by small batch deviations: 1e-4 of the largest
 * value (the single layers agree to 1e-5, test_sparse_kernels.c). */
#define NET_TOLERANCE 1e-4

struct step {
    float *logits;
    float **grads;
};

/* one forward and backward on the batch in the net's input; copies of the
 * logits and of every parameter's gradient */
static struct step take_step(struct net *net, const int32_t *labels)
{
    net_forward(net, BATCH, 1);
    softmax_cross_entropy(BATCH, net->classes, net_logits(net), labels, net_logits_grad(net),
                          NULL);
    net_backward(net, BATCH);
    struct step s = {.logits = malloc(sizeof(float) * (size_t)net->classes * BATCH),
                     .grads = calloc((size_t)net->n_params, sizeof(float *))};
    cr_assert(s.logits && s.grads);
    memcpy(s.logits, net_logits(net), sizeof(float) * (size_t)net->classes * BATCH);
    for (int i = 0; i < net->n_params; i++) {
        const struct param *p = net->params[i];
        s.grads[i] = malloc(sizeof(float) * p->count);
        cr_assert_not_null(s.grads[i]);
        param_dense_grads(p, s.grads[i]);
    }
    return s;
}

static void free_step(struct step *s, int n_params)
{
    for (int i = 0; i < n_params; i++)
        free(s->grads[i]);
    free(s->grads);
    free(s->logits);
}

static void random_batch(struct net *net, int32_t *labels)
{
    struct rng r = rng_stream(7, RNG_DATA_ORDER);
    const struct activation *in = &net->acts[0];
    fill_normal(&r, net_input(net), (size_t)in->c * in->h * in->w * BATCH);
    for (int i = 0; i < BATCH; i++)
        labels[i] = (int32_t)rng_below(&r, (uint64_t)net->classes);
}

/* the dense and the sparse path on the same batch: same logits and gradients,
 * inactive gradients zero, and every masked layer ran the sparse kernels */
static void check_paths_agree(struct net *net)
{
    int32_t labels[BATCH];
    random_batch(net, labels);
    net->kernels = NET_KERNELS_DENSE;
    struct step dense = take_step(net, labels);
    net->kernels = NET_KERNELS_SPARSE;
    struct step sparse = take_step(net, labels);
    expect_close("logits", sparse.logits, dense.logits, (size_t)net->classes * BATCH,
                 NET_TOLERANCE);
    for (int i = 0; i < net->n_params; i++) {
        const struct param *p = net->params[i];
        expect_close(p->name, sparse.grads[i], dense.grads[i], p->count, NET_TOLERANCE);
        for (size_t j = 0; p->mask && j < p->count; j++)
            cr_expect(p->mask[j] || sparse.grads[i][j] == 0.0f,
                      "%s: inactive position %zu has gradient %g", p->name, j,
                      (double)sparse.grads[i][j]);
    }
    for (int i = 0; i < net->n_layers; i++) {
        const struct layer *l = &net->layers[i];
        if (l->kind == LAYER_CONV || l->kind == LAYER_LINEAR)
            cr_expect_eq(l->sparse_ran, l->weight->mask != NULL, "%s ran the %s kernels",
                         l->name, l->sparse_ran ? "sparse" : "dense");
    }
    free_step(&dense, net->n_params);
    free_step(&sparse, net->n_params);
}

static void fixture(struct method_fixture *f, const char *method, const char *model, double s)
{
    method_fixture_setup(f, method_find(method),
                         (struct method_setup){.model = model, .sparsity = s, .seed = 3});
    cr_assert_eq(net_set_capacity(f->net, BATCH), 0);
}

/* strided, 1x1 (dense shortcuts) and fused residual convolutions, a linear layer */
Test(sparse_path, wrn_step_matches_dense_masked_path)
{
    struct method_fixture f;
    fixture(&f, "static", "wrn-10-1", 0.8);
    check_paths_agree(f.net);
    method_fixture_free(&f);
}

/* A batch smaller than the capacity after a full one: the sparse kernels'
 * in-place reads of bordered batch-norm outputs (net_plan.h) run past the
 * batch's last image into planes the full batch left behind, and only the
 * zero borders between may reach a real output. */
Test(sparse_path, wrn_step_after_a_larger_batch)
{
    struct method_fixture f;
    fixture(&f, "static", "wrn-10-1", 0.8);
    cr_assert_eq(net_set_capacity(f.net, BATCH + 3), 0);
    struct rng r = rng_stream(11, RNG_DATA_ORDER);
    const struct activation *in = &f.net->acts[0];
    fill_normal(&r, net_input(f.net), (size_t)in->c * in->h * in->w * (BATCH + 3));
    f.net->kernels = NET_KERNELS_SPARSE;
    net_forward(f.net, BATCH + 3, 1);
    check_paths_agree(f.net);
    method_fixture_free(&f);
}

/* a 5x5 convolution with bias; all active, then one weight per tensor */
Test(sparse_path, lenet5_step_matches_at_extreme_densities)
{
    struct method_fixture f;
    fixture(&f, "static", "lenet-5", 0.0);
    check_paths_agree(f.net);
    for (int t = 0; t < f.run.store.count; t++) {
        struct sparse_tensor *st = &f.run.store.tensors[t];
        for (size_t i = 1; i < st->param->count; i++)
            sparse_deactivate(st, i);
    }
    check_paths_agree(f.net);
    method_fixture_free(&f);
}

/* masks changed through the sparse store between steps: the index follows */
Test(sparse_path, changed_masks_are_picked_up)
{
    struct method_fixture f;
    fixture(&f, "static", "lenet-300-100", 0.9);
    check_paths_agree(f.net);
    struct rng r = rng_stream(11, RNG_METHOD);
    for (int t = 0; t < f.run.store.count; t++) {
        struct sparse_tensor *st = &f.run.store.tensors[t];
        for (size_t i = 0; i < st->param->count; i++) {
            if (st->param->mask[i] && rng_uniform(&r) < 0.3f)
                sparse_deactivate(st, i);
            else if (!st->param->mask[i] && rng_uniform(&r) < 0.05f)
                sparse_activate(st, i, rng_uniform(&r) - 0.5f);
        }
    }
    check_paths_agree(f.net);
    method_fixture_free(&f);
}

/* the dense method has no masks (nor has thin-dense): --kernels sparse
 * leaves every layer dense */
Test(sparse_path, weights_without_mask_stay_dense)
{
    struct method_fixture f;
    fixture(&f, "dense", "lenet-300-100", 0.0);
    check_paths_agree(f.net);
    method_fixture_free(&f);
}

/* --kernels auto: each masked layer runs the sparse kernels exactly when its
 * density is below its crossover; returns how many did */
static int check_auto_choice(struct net *net)
{
    int32_t labels[BATCH];
    random_batch(net, labels);
    net->kernels = NET_KERNELS_AUTO;
    net_forward(net, BATCH, 1);
    int sparse = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const struct layer *l = &net->layers[i];
        if (l->kind != LAYER_CONV && l->kind != LAYER_LINEAR)
            continue;
        const struct param *p = l->weight;
        size_t active = p->count;
        for (size_t j = 0; p->mask && j < p->count; j++)
            active -= !p->mask[j];
        const double density = (double)active / (double)p->count;
        const int want = p->mask && density < net_kernels_crossover(net, l);
        cr_expect_eq(l->sparse_ran, want, "%s at density %g (crossover %g) ran the %s kernels",
                     l->name, density, net_kernels_crossover(net, l),
                     l->sparse_ran ? "sparse" : "dense");
        sparse += l->sparse_ran;
    }
    return sparse;
}

Test(sparse_path, auto_picks_by_density)
{
    const double sparsities[] = {0.0, 0.6, 0.98};
    int sparse[3];
    for (int i = 0; i < 3; i++) {
        struct method_fixture f;
        fixture(&f, "static", "wrn-10-1", sparsities[i]);
        sparse[i] = check_auto_choice(f.net);
        check_paths_agree(f.net);
        method_fixture_free(&f);
    }
    cr_expect_eq(sparse[0], 0, "all-active masks (as HashedNet's) stay dense");
    cr_expect_gt(sparse[2], 0, "at sparsity 0.98 some layer runs sparse");
    cr_expect_geq(sparse[2], sparse[1]);
}

/* the same-size 3x3 layers of WRN-10-1's last stage (7x7 here) run the
 * lanes kernels (AVX-512 builds), which stay faster than the dense ones to
 * a higher density than the flat kernels on the first stage (net_kernels.c) */
Test(sparse_path, lanes_layers_cross_higher)
{
    struct method_fixture f;
    fixture(&f, "static", "wrn-10-1", 0.6);
    double flat = 0.0, lanes = 0.0;
    for (int i = 0; i < f.net->n_layers; i++) {
        const struct layer *l = &f.net->layers[i];
        if (l->kind != LAYER_CONV || l->stride != 1 || l->kernel != 3 || !l->weight->mask)
            continue;
        const struct activation *in = &f.net->acts[l->in];
        if (in->h == f.net->acts[0].h)
            flat = net_kernels_crossover(f.net, l);
        if (in->h * in->w <= 100)
            lanes = net_kernels_crossover(f.net, l);
    }
    cr_assert(flat > 0.0 && lanes > 0.0, "no 3x3 layer on the first or the last stage");
#if defined(__AVX512F__)
    cr_expect_gt(lanes, flat + 0.05, "last stage (lanes) crosses at %g, first (flat) at %g",
                 lanes, flat);
#else
    cr_expect_lt(lanes, flat, "without the lanes kernels the last stage crosses at %g, the "
                 "first at %g", lanes, flat);
#endif
    method_fixture_free(&f);
}

/* ---- short training runs, dense against sparse kernels ---- */

static char root[128];

static void make_root(void)
{
    scratch_folder_make(root, sizeof root, "sparse-path");
}

static void remove_root(void)
{
    scratch_folder_remove(root);
}

TestSuite(sparse_runs, .init = make_root, .fini = remove_root, .timeout = 300);

enum { EPOCHS = 3, MAX_EPOCHS = 8 };

struct curve {
    double train_loss[MAX_EPOCHS], test_acc[MAX_EPOCHS];
    int epochs;
};

/* the train_loss and test_acc columns of <dir>/epochs.csv */
static struct curve read_curve(const char *dir)
{
    char path[600], line[4096];
    snprintf(path, sizeof path, "%s/epochs.csv", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s is missing", path);
    struct curve c = {0};
    int loss_col = -1, acc_col = -1;
    for (int row = 0; fgets(line, sizeof line, f) && c.epochs < MAX_EPOCHS; row++) {
        int col = 0;
        for (char *save = NULL, *cell = strtok_r(line, ",\n", &save); cell;
             cell = strtok_r(NULL, ",\n", &save), col++) {
            if (row == 0) {
                loss_col = strcmp(cell, "train_loss") == 0 ? col : loss_col;
                acc_col = strcmp(cell, "test_acc") == 0 ? col : acc_col;
            } else if (col == loss_col) {
                c.train_loss[c.epochs] = atof(cell);
            } else if (col == acc_col) {
                c.test_acc[c.epochs] = atof(cell);
            }
        }
        cr_assert(loss_col >= 0 && acc_col >= 0, "%s has no train_loss / test_acc", path);
        c.epochs += row > 0;
    }
    fclose(f);
    return c;
}

static struct curve train(const char *model, const char *method, int train_subset,
                          enum net_kernels kernels)
{
    struct train_options o;
    train_options_defaults(&o);
    char out[512];
    snprintf(out, sizeof out, "%s/%s_%s_%s", root, model, method, net_kernels_name(kernels));
    o.out = out;
    o.model = model;
    o.method = method;
    o.sparsity = 0.9;
    o.epochs = EPOCHS;
    o.train_subset = train_subset;
    o.test_subset = 300;
    o.threads = 2;
    o.kernels = kernels;
    o.save_initial = o.save_final = 0;
    o.checkpoint_every = 0;
    static const char *const fast_realloc[] = {"period=2"};
    o.method_options = fast_realloc;
    o.n_method_options = 1;
    cr_assert_eq(train_run(&o), 0, "training %s %s with %s kernels failed", model, method,
                 net_kernels_name(kernels));
    return read_curve(out);
}

/* Both paths compute the same products in a different order, so the runs
 * drift apart by float rounding only: ~1e-6 relative per step, compounding
 * over a few dozen steps with masks reallocated every 2. A weight a rounding
 * error from a pruning threshold can still flip, so curves are compared at
 * a level a different seed exceeds by far: train loss within 0.5% and test
 * accuracy within 2 points (6 of 300 images) at every epoch. Both runs
 * must also have learned (the loss fell), or equal curves would say little. */
static void check_same_curve(const char *model, const char *method, int train_subset)
{
    const struct curve dense = train(model, method, train_subset, NET_KERNELS_DENSE);
    const struct curve sparse = train(model, method, train_subset, NET_KERNELS_SPARSE);
    cr_assert_eq(dense.epochs, EPOCHS);
    cr_assert_eq(sparse.epochs, EPOCHS);
    cr_expect_lt(dense.train_loss[EPOCHS - 1], 0.95 * dense.train_loss[0],
                 "%s %s learned nothing: train loss %g, then %g", model, method,
                 dense.train_loss[0], dense.train_loss[EPOCHS - 1]);
    for (int e = 0; e < EPOCHS; e++) {
        cr_expect_leq(fabs(sparse.train_loss[e] - dense.train_loss[e]),
                      0.005 * dense.train_loss[e], "%s %s epoch %d: train loss %g vs dense %g",
                      model, method, e, sparse.train_loss[e], dense.train_loss[e]);
        cr_expect_leq(fabs(sparse.test_acc[e] - dense.test_acc[e]), 2.0,
                      "%s %s epoch %d: test accuracy %g vs dense %g", model, method, e,
                      sparse.test_acc[e], dense.test_acc[e]);
    }
}

Test(sparse_runs, lenet_300_100_dsr)
{
    check_same_curve("lenet-300-100", "dsr", 3000);
}

Test(sparse_runs, lenet_300_100_set)
{
    check_same_curve("lenet-300-100", "set", 3000);
}

Test(sparse_runs, wrn_10_1_dsr)
{
    check_same_curve("wrn-10-1", "dsr", 600);
}

Test(sparse_runs, wrn_10_1_set)
{
    check_same_curve("wrn-10-1", "set", 600);
}
