/* Methods through whole (tiny) training runs on a Fashion-MNIST subset:
 * static keeps its mask; the RQ3 ablations retrain a DSR source that
 * reallocates every 5 steps (so its final mask differs from its initial one);
 * compressed warm-starts from a dense run. Checkpoints are read back to see
 * what each run started from and ended with. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "testutil.h"
#include "train_run.h"

static char root[128];

static void run_ok(const char *out, const char *method, double sparsity, const char *from,
                   const char *const *method_options, int n_options, int epochs)
{
    struct train_options o;
    train_options_defaults(&o);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, out);
    o.out = strdup(path);
    o.method = method;
    o.sparsity = sparsity;
    o.from = from;
    o.method_options = method_options;
    o.n_method_options = n_options;
    o.epochs = epochs;
    o.train_subset = 1000;
    o.test_subset = 200;
    o.threads = 1;
    cr_assert_eq(train_run(&o), 0, "training %s into %s failed", method, path);
    free((char *)o.out);
}

static void read_ckpt(const char *run, const char *file, struct checkpoint *c)
{
    char path[512], err[1024];
    snprintf(path, sizeof path, "%s/%s/%s", root, run, file);
    cr_assert_eq(checkpoint_read(path, c, err, sizeof err), 0, "%s", err);
}

static void make_root(void)
{
    scratch_folder_make(root, sizeof root, "method-runs");
}

static void remove_root(void)
{
    scratch_folder_remove(root);
}

TestSuite(method_runs, .init = make_root, .fini = remove_root, .timeout = 120);

static const char *const fast_dsr[] = {"period=5"};

static float value_at(const struct checkpoint_param *p, size_t i)
{
    float v;
    memcpy(&v, p->value + i * sizeof v, sizeof v);
    return v;
}

/* positions where two checkpoints' masks of one tensor differ */
static size_t mask_differences(const struct checkpoint_param *a, const struct checkpoint_param *b)
{
    size_t n = 0;
    for (size_t i = 0; i < a->count; i++)
        n += a->mask[i] != b->mask[i];
    return n;
}

Test(method_runs, fixed_structures_take_the_final_mask_and_their_own_weights)
{
    run_ok("dsr", "dsr", 0.9, NULL, fast_dsr, 1, 2);
    char source[512];
    snprintf(source, sizeof source, "%s/dsr", root);
    run_ok("reinit", "reinit-fixed-structure", -1, source, NULL, 0, 1);
    run_ok("original", "original-init-fixed-structure", -1, source, NULL, 0, 1);

    struct checkpoint dsr_initial, dsr_final, reinit, original;
    read_ckpt("dsr", "initial.ckpt", &dsr_initial);
    read_ckpt("dsr", "final.ckpt", &dsr_final);
    read_ckpt("reinit", "initial.ckpt", &reinit);
    read_ckpt("original", "initial.ckpt", &original);
    cr_assert_float_eq(reinit.meta.sparsity, 0.9, 1e-12, "the source's sparsity is the default");
    const char *name = "fc1.weight";
    const struct checkpoint_param *first = checkpoint_find_param(&dsr_initial, name),
                                  *last = checkpoint_find_param(&dsr_final, name),
                                  *re = checkpoint_find_param(&reinit, name),
                                  *orig = checkpoint_find_param(&original, name);
    cr_assert(first && last && re && orig && first->mask && re->mask && orig->mask);
    cr_assert_gt(mask_differences(first, last), 0, "DSR moved nothing: the test proves little");
    cr_assert_eq(mask_differences(last, re), 0, "reinit does not train DSR's final mask");
    cr_assert_eq(mask_differences(last, orig), 0, "original-init does not train the final mask");
    size_t same_as_source = 0, compared = 0, kept = 0;
    for (size_t i = 0; i < last->count; i++) {
        if (!last->mask[i]) {
            cr_assert_eq(value_at(re, i), 0.0f);
            cr_assert_eq(value_at(orig, i), 0.0f);
            continue;
        }
        if (first->mask[i]) { /* active in DSR's initial mask: its initial value is known */
            kept++;
            cr_assert_eq(value_at(orig, i), value_at(first, i),
                         "original-init's weight %zu is not DSR's initial one", i);
            same_as_source += value_at(re, i) == value_at(first, i);
        }
        compared++;
    }
    cr_assert_gt(kept, 1000);
    cr_assert_lt(same_as_source, kept / 100, "reinit kept %zu of DSR's %zu initial weights",
                 same_as_source, kept);
    /* grown positions get the source seed's draw, not 0: every position was initialized */
    size_t nonzero = 0;
    for (size_t i = 0; i < last->count; i++)
        nonzero += last->mask[i] && value_at(orig, i) != 0.0f;
    cr_assert_eq(nonzero, compared);
    checkpoint_free(&dsr_initial);
    checkpoint_free(&dsr_final);
    checkpoint_free(&reinit);
    checkpoint_free(&original);
}

Test(method_runs, frozen_after_n_epochs_stops_reallocating_at_n)
{
    const char *const options[] = {"period=5", "stop_epoch=1"};
    run_ok("frozen", "frozen-after-N-epochs", 0.9, NULL, options, 2, 3);
    struct checkpoint final;
    char path[512];
    snprintf(path, sizeof path, "%s/frozen/epochs.csv", root);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[1024];
    int reallocations_column = -1, row = -1;
    long reallocations[3] = {-1, -1, -1};
    while (fgets(line, sizeof line, f)) {
        int col = 0;
        for (char *cell = strtok(line, ",\n"); cell; cell = strtok(NULL, ",\n"), col++) {
            if (row < 0 && strcmp(cell, "reallocations") == 0)
                reallocations_column = col;
            else if (row >= 0 && col == reallocations_column)
                reallocations[row] = atol(cell);
        }
        row++;
    }
    fclose(f);
    cr_assert_geq(reallocations_column, 0);
    cr_assert_gt(reallocations[0], 0, "no reallocation before the stop epoch");
    cr_assert_eq(reallocations[1], 0);
    cr_assert_eq(reallocations[2], 0);
    read_ckpt("frozen", "final.ckpt", &final);
    checkpoint_free(&final);
}

Test(method_runs, compressed_starts_from_the_dense_runs_final_state)
{
    run_ok("dense", "dense", -1, NULL, NULL, 0, 1);
    char source[512];
    snprintf(source, sizeof source, "%s/dense", root);
    const char *const options[] = {"every=1", "prunes=1"};
    run_ok("compressed", "compressed", 0.9, source, options, 2, 1);
    struct checkpoint dense, start;
    read_ckpt("dense", "final.ckpt", &dense);
    read_ckpt("compressed", "initial.ckpt", &start);
    for (int i = 0; i < dense.n_params; i++) {
        const struct checkpoint_param *d = &dense.params[i];
        const struct checkpoint_param *c = checkpoint_find_param(&start, d->name);
        cr_assert_not_null(c);
        cr_assert_eq(memcmp(d->value, c->value, d->count * sizeof(float)), 0, "%s differs",
                     d->name);
        cr_assert_eq(memcmp(d->momentum, c->momentum, d->count * sizeof(float)), 0,
                     "%s's momentum differs", d->name);
    }
    checkpoint_free(&dense);
    checkpoint_free(&start);
}

Test(method_runs, static_mask_is_bit_identical_at_the_end)
{
    run_ok("static", "static", 0.9, NULL, NULL, 0, 2);
    struct checkpoint initial, final;
    read_ckpt("static", "initial.ckpt", &initial);
    read_ckpt("static", "final.ckpt", &final);
    int masked = 0;
    for (int i = 0; i < initial.n_params; i++) {
        const struct checkpoint_param *a = &initial.params[i];
        const struct checkpoint_param *b = checkpoint_find_param(&final, a->name);
        cr_assert_not_null(b);
        if (!a->mask)
            continue;
        masked++;
        cr_assert_eq(memcmp(a->mask, b->mask, a->count), 0, "%s's mask changed", a->name);
        size_t moved = 0;
        for (size_t j = 0; j < a->count; j++) {
            if (!b->mask[j])
                cr_assert_eq(value_at(b, j), 0.0f, "%s[%zu] is inactive but not 0", a->name, j);
            else
                moved += value_at(b, j) != value_at(a, j);
        }
        cr_assert_gt(moved, 0, "%s did not train", a->name);
    }
    cr_assert_eq(masked, 3, "LeNet-300-100 has three sparse tensors");
    checkpoint_free(&initial);
    checkpoint_free(&final);
}
