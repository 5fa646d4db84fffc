/* The compressed method (gradual magnitude pruning, PAPER.md "Baselines"); the
 * magnitude selection under it is tested in test_set.c. LeNet-300-100 has 235200 / 30000 / 1000
 * sparse positions, all active at the start. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method_fixture.h"

extern const struct method method_compressed;

/* PAPER.md's formulas, written out independently of the method */
static double cubic(double final, int k, int n)
{
    const double left = 1.0 - (double)k / n;
    return final * (1.0 - left * left * left);
}

static double constant_fraction(double final, int k, int n)
{
    /* the same fraction 1 - (1 - s_f)^(1/n) of the remaining weights per prune */
    double remaining = 1.0;
    for (int i = 0; i < k; i++)
        remaining *= pow(1.0 - final, 1.0 / n);
    return 1.0 - remaining;
}

static void end_epoch(struct method_fixture *f, int epoch)
{
    method_fixture_hook(f, method_compressed.end_epoch, epoch, 0);
}

static void expect_counts(struct method_fixture *f, double sparsity, const char *when)
{
    for (int l = 0; l < f->run.store.count; l++) {
        const struct sparse_tensor *t = &f->run.store.tensors[l];
        const size_t want = (size_t)((1.0 - sparsity) * (double)t->param->count + 0.1);
        cr_assert_eq(t->active, want, "%s: %s has %zu active, expected %zu (sparsity %.6f)",
                     when, t->param->name, t->active, want, sparsity);
    }
    char err[256];
    cr_assert_eq(sparse_store_check(&f->run.store, err, sizeof err), 0, "%s", err);
}

Test(compressed, starts_dense_and_follows_the_cubic_schedule_to_the_exact_budget)
{
    struct method_fixture f;
    method_fixture_setup(&f, &method_compressed, (struct method_setup){.sparsity = 0.9, .seed = 3});
    cr_assert_eq(sparse_store_active(&f.run.store), f.run.store.positions);
    for (int epoch = 0; epoch < 48; epoch++) {
        end_epoch(&f, epoch);
        const int k = epoch <= 38 ? epoch / 2 + 1 : 20;
        char when[64];
        snprintf(when, sizeof when, "after epoch %d (prune %d)", epoch, k);
        expect_counts(&f, cubic(0.9, k, 20), when);
    }
    cr_assert_eq(sparse_store_active(&f.run.store), 23520u + 3000u + 100u);
    cr_assert_eq(method_fixture_stat(&f, "prunes_done"), 20);
    method_fixture_free(&f);
}

Test(compressed, constant_shape_prunes_the_same_fraction_of_what_remains)
{
    struct method_fixture f;
    const char *const options[] = {"shape=2", "every=1", "prunes=5", NULL};
    method_fixture_setup(&f, &method_compressed,
                         (struct method_setup){.sparsity = 0.98, .seed = 1, .options = options});
    for (int epoch = 0; epoch < 5; epoch++) {
        end_epoch(&f, epoch);
        expect_counts(&f, constant_fraction(0.98, epoch + 1, 5), "constant schedule");
    }
    method_fixture_free(&f);
}

Test(compressed, resnet50_defaults_to_the_constant_shape)
{
    struct method_fixture f;
    const char *const options[] = {"prunes=4", "every=1", NULL};
    method_fixture_setup(&f, &method_compressed,
                         (struct method_setup){.model = "resnet-50", .c = 3, .h = 32,
                                               .w = 32, .sparsity = 0.8, .options = options});
    cr_assert_eq(f.run.option[method_option_index(&method_compressed, "shape")], 2);
    end_epoch(&f, 0);
    expect_counts(&f, constant_fraction(0.8, 1, 4), "resnet-50 first prune");
    method_fixture_free(&f);
}

Test(compressed, prunes_only_after_its_epochs)
{
    struct method_fixture f;
    const char *const options[] = {"first_prune=3", "every=3", "prunes=2", NULL};
    method_fixture_setup(&f, &method_compressed,
                         (struct method_setup){.sparsity = 0.9, .options = options});
    const size_t all = f.run.store.positions;
    for (int epoch = 0; epoch < 3; epoch++) {
        end_epoch(&f, epoch);
        cr_assert_eq(sparse_store_active(&f.run.store), all, "pruned after epoch %d", epoch);
    }
    end_epoch(&f, 3);
    expect_counts(&f, cubic(0.9, 1, 2), "first prune");
    end_epoch(&f, 4);
    end_epoch(&f, 5);
    expect_counts(&f, cubic(0.9, 1, 2), "between prunes");
    end_epoch(&f, 6);
    expect_counts(&f, 0.9, "last prune");
    end_epoch(&f, 9);
    expect_counts(&f, 0.9, "after the last prune");
    method_fixture_free(&f);
}

Test(compressed, removes_the_smallest_magnitudes)
{
    struct method_fixture f;
    const char *const options[] = {"prunes=1", NULL};
    method_fixture_setup(&f, &method_compressed,
                         (struct method_setup){.sparsity = 0.5, .seed = 7, .options = options});
    const struct param *p = f.run.store.tensors[1].param; /* fc2 */
    float *before = malloc(p->count * sizeof *before);
    cr_assert_not_null(before);
    memcpy(before, p->value, p->count * sizeof *before);
    end_epoch(&f, 0);
    float largest_pruned = 0, smallest_kept = INFINITY;
    for (size_t i = 0; i < p->count; i++) {
        const float m = fabsf(before[i]);
        if (p->mask[i]) {
            cr_assert_eq(p->value[i], before[i], "a kept weight changed at %zu", i);
            smallest_kept = fminf(smallest_kept, m);
        } else {
            cr_assert_eq(p->value[i], 0.0f);
            largest_pruned = fmaxf(largest_pruned, m);
        }
    }
    cr_assert(largest_pruned <= smallest_kept, "pruned |w| %g above kept %g", largest_pruned,
              smallest_kept);
    free(before);
    method_fixture_free(&f);
}

Test(compressed, refuses_a_run_too_short_to_reach_the_budget)
{
    struct method_fixture f;
    cr_assert_neq(method_fixture_try(&f, &method_compressed,
                                     (struct method_setup){.sparsity = 0.9, .epochs = 38}),
                  0);
    method_fixture_free(&f);
    method_fixture_setup(&f, &method_compressed,
                         (struct method_setup){.sparsity = 0.9, .epochs = 39});
    method_fixture_free(&f);
}

Test(compressed, state_round_trip_keeps_the_prune_count)
{
    struct method_fixture a, b;
    const char *const options[] = {"every=1", NULL};
    method_fixture_setup(&a, &method_compressed,
                         (struct method_setup){.sparsity = 0.9, .options = options});
    method_fixture_setup(&b, &method_compressed,
                         (struct method_setup){.sparsity = 0.9, .options = options});
    for (int epoch = 0; epoch < 4; epoch++)
        end_epoch(&a, epoch);
    const size_t size = method_compressed.state_size(&a.run);
    unsigned char blob[64];
    cr_assert_leq(size, sizeof blob);
    method_compressed.state_save(&a.run, blob);
    cr_assert_eq(method_compressed.state_load(&b.run, blob, size), 0);
    cr_assert_eq(method_fixture_stat(&b, "prunes_done"), 4);
    cr_assert_neq(method_compressed.state_load(&b.run, blob, size + 1), 0);
    method_fixture_free(&a);
    method_fixture_free(&b);
}
