/* SET (PAPER.md "Baselines") and the per-tensor smallest-magnitude prune under
 * it. The nets are LeNet-300-100 at sparsity 0.9 unless a test says otherwise:
 * fc1 23520 of 235200 active, fc2 3000 of 30000, fc3 100 of 1000. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "method_fixture.h"
#include "realloc.h"

extern const struct method method_set;

enum { FC1, FC2, FC3, TENSORS };

static void setup(struct method_fixture *f, double sparsity, uint64_t seed,
                  const char *const *options)
{
    method_fixture_setup(f, &method_set,
                         (struct method_setup){.sparsity = sparsity, .seed = seed,
                                               .options = options});
}

static struct sparse_tensor *tensor(struct method_fixture *f, int l)
{
    return &f->run.store.tensors[l];
}

static double option(struct method_fixture *f, const char *name)
{
    return f->run.option[method_option_index(&method_set, name)];
}

static void step(struct method_fixture *f, long iteration, int epoch)
{
    method_fixture_hook(f, method_set.after_step, epoch, iteration);
}

struct set_stats {
    double zeta, pruned, grown, reallocations;
};

/* every column of one epoch from one stats call (the call resets the counts) */
static struct set_stats read_stats(struct method_fixture *f)
{
    static const char *const names[] = {"zeta", "pruned", "grown", "reallocations"};
    double v[4];
    method_fixture_stats(f, names, v, 4);
    return (struct set_stats){.zeta = v[0], .pruned = v[1], .grown = v[2], .reallocations = v[3]};
}

/* a copy of every tensor's mask and values, to compare a step against */
struct snapshot {
    uint8_t *mask[TENSORS];
    float *value[TENSORS];
};

static struct snapshot take_snapshot(struct method_fixture *f)
{
    struct snapshot s;
    for (int l = 0; l < TENSORS; l++) {
        const struct param *p = tensor(f, l)->param;
        s.mask[l] = malloc(p->count);
        s.value[l] = malloc(p->count * sizeof(float));
        memcpy(s.mask[l], p->mask, p->count);
        memcpy(s.value[l], p->value, p->count * sizeof(float));
    }
    return s;
}

static void free_snapshot(struct snapshot *s)
{
    for (int l = 0; l < TENSORS; l++) {
        free(s->mask[l]);
        free(s->value[l]);
    }
}

Test(set, every_tensor_keeps_its_active_count_over_many_reallocations)
{
    struct method_fixture f;
    setup(&f, 0.9, 1, NULL);
    size_t active[TENSORS];
    for (int l = 0; l < TENSORS; l++)
        active[l] = tensor(&f, l)->active;
    struct rng r = rng_stream(21, RNG_WEIGHT_INIT);
    for (int k = 1; k <= 30; k++) {
        method_fixture_randomize_active(&f, &r, 0.05f);
        step(&f, 100L * k, 0);
        for (int l = 0; l < TENSORS; l++)
            cr_assert_eq(tensor(&f, l)->active, active[l], "tensor %d after reallocation %d",
                         l, k);
        const struct set_stats s = read_stats(&f);
        cr_assert_eq(s.pruned, s.grown);
        cr_assert_eq(s.reallocations, 1);
        cr_assert_gt(s.pruned, 0);
    }
    method_fixture_expect_consistent(&f);
    method_fixture_free(&f);
}

/* One reallocation with distinct random magnitudes: in every tensor exactly
 * int(zeta * M_l) + 1 weights go, every one of them smaller than every weight
 * that stays; as many come back, at 0, never where a weight just went. */
static void check_one_reallocation(const char *const *options, uint64_t seed)
{
    struct method_fixture f;
    setup(&f, 0.9, seed, options);
    struct rng r = rng_stream(seed + 100, RNG_WEIGHT_INIT);
    method_fixture_randomize_active(&f, &r, 0.05f);
    const double zeta = option(&f, "zeta");
    struct snapshot before = take_snapshot(&f);
    step(&f, 100, 0);
    for (int l = 0; l < TENSORS; l++) {
        const struct param *p = tensor(&f, l)->param;
        size_t m = 0, pruned = 0, grown = 0;
        float largest_pruned = 0.0f, smallest_kept = INFINITY;
        for (size_t i = 0; i < p->count; i++) {
            const float w = fabsf(before.value[l][i]);
            m += before.mask[l][i];
            if (before.mask[l][i] && !p->mask[i]) {
                pruned++;
                largest_pruned = fmaxf(largest_pruned, w);
            } else if (before.mask[l][i]) {
                smallest_kept = fminf(smallest_kept, w);
                /* a weight pruned and regrown in one step would be back at 0 */
                cr_assert_eq(p->value[i], before.value[l][i],
                             "%s[%zu] kept but changed (pruned and regrown?)", p->name, i);
            } else if (p->mask[i]) {
                grown++;
                cr_assert_eq(p->value[i], 0.0f, "%s[%zu] grown at %g", p->name, i,
                             (double)p->value[i]);
            }
        }
        cr_expect_eq(pruned, (size_t)(zeta * (double)m) + 1, "%s: pruned %zu of %zu, zeta %g",
                     p->name, pruned, m, zeta);
        cr_expect_eq(grown, pruned, "%s: grew %zu for %zu pruned", p->name, grown, pruned);
        cr_expect_lt(largest_pruned, smallest_kept, "%s: pruned up to %g, kept from %g",
                     p->name, (double)largest_pruned, (double)smallest_kept);
    }
    method_fixture_expect_consistent(&f);
    free_snapshot(&before);
    method_fixture_free(&f);
}

Test(set, prunes_int_zeta_m_plus_one_smallest_per_tensor_and_regrows_at_zero_elsewhere)
{
    check_one_reallocation(NULL, 2); /* zeta from N_p: 3668 / 26620 */
    const char *const explicit_zeta[] = {"zeta=0.3", NULL};
    check_one_reallocation(explicit_zeta, 3);
}

Test(set, zeta_follows_from_np_and_sparsity)
{
    struct method_fixture f;
    setup(&f, 0.9, 1, NULL);
    /* N_p = round(20000 * 266200 / 1451520) = 3668 */
    cr_expect_eq(option(&f, "np"), 3668);
    cr_expect_eq(option(&f, "zeta"), 3668 / ((1 - 0.9) * 266200));
    cr_expect_eq(read_stats(&f).zeta, option(&f, "zeta"));
    method_fixture_free(&f);

    const char *const np[] = {"np=1000", NULL};
    setup(&f, 0.8, 1, np);
    cr_expect_eq(option(&f, "zeta"), 1000 / ((1 - 0.8) * 266200));
    method_fixture_free(&f);
}

Test(set, wrn_28_2_zeta_matches_the_paper)
{
    /* PAPER.md: 0.138 / 0.07 / 0.046 / 0.034 / 0.028 for s = 0.9 .. 0.5 */
    static const struct {
        double sparsity, zeta, printed_to;
    } paper[] = {{0.9, 0.138, 1e-3}, {0.8, 0.07, 1e-2}, {0.7, 0.046, 1e-3},
                 {0.6, 0.034, 1e-3}, {0.5, 0.028, 1e-3}};
    for (size_t i = 0; i < sizeof paper / sizeof paper[0]; i++) {
        struct method_fixture f;
        method_fixture_setup(&f, &method_set,
                             (struct method_setup){.model = "wrn-28-2", .c = 3, .h = 32,
                                                   .w = 32, .sparsity = paper[i].sparsity,
                                                   .seed = 1});
        const double zeta = option(&f, "zeta");
        cr_expect_eq(option(&f, "np"), 20000);
        cr_expect_eq(zeta, 20000 / ((1 - paper[i].sparsity) * 1451520));
        cr_expect_lt(fabs(zeta - paper[i].zeta), paper[i].printed_to / 2,
                     "s = %g: zeta %g, PAPER.md %g", paper[i].sparsity, zeta, paper[i].zeta);
        method_fixture_free(&f);
    }
}

Test(set, moves_are_clamped_to_what_a_tensor_holds_and_has_room_for)
{
    const char *const zeta[] = {"zeta=0.2", NULL};
    struct method_fixture f;
    setup(&f, 0.9, 4, zeta);
    /* fc3 950 of 1000 active: int(0.2 * 950) + 1 = 191 wanted, room for 50 */
    struct sparse_tensor *fc3 = tensor(&f, FC3);
    for (size_t i = 0; fc3->active < 950; i++)
        if (!fc3->param->mask[i])
            sparse_activate(fc3, i, 0.5f);
    /* fc2 entirely active: it moves nothing */
    struct sparse_tensor *fc2 = tensor(&f, FC2);
    for (size_t i = 0; i < fc2->param->count; i++)
        if (!fc2->param->mask[i])
            sparse_activate(fc2, i, 0.5f);
    /* the per-tensor budget is taken at init: start again from this store */
    method_set.free_state(&f.run);
    cr_assert_eq(method_set.init(&f.run), 0);
    struct rng r = rng_stream(40, RNG_WEIGHT_INIT);
    method_fixture_randomize_active(&f, &r, 0.05f);
    struct snapshot before = take_snapshot(&f);
    step(&f, 100, 0);
    const struct set_stats s = read_stats(&f);
    /* fc1: int(0.2 * 23520) + 1 = 4705 */
    cr_expect_eq(s.pruned, 4705 + 0 + 50);
    cr_expect_eq(fc3->active, 950);
    cr_expect_eq(fc2->active, 30000);
    for (size_t i = 0; i < fc2->param->count; i++)
        cr_assert_eq(fc2->param->value[i], before.value[FC2][i]);
    method_fixture_expect_consistent(&f);
    free_snapshot(&before);
    method_fixture_free(&f);
}

/* reallocations the stats report after one after_step */
static double reallocations_after(struct method_fixture *f, long iteration, int epoch)
{
    step(f, iteration, epoch);
    return read_stats(f).reallocations;
}

Test(set, reallocates_on_the_dsr_schedule)
{
    struct method_fixture f;
    setup(&f, 0.9, 5, NULL);
    method_fixture_expect_paper_schedule(&f);
    method_fixture_free(&f);

    const char *const schedule[] = {"period=7", "stop_epoch=3", NULL};
    setup(&f, 0.9, 5, schedule);
    cr_expect_eq(reallocations_after(&f, 7, 0), 1);
    cr_expect_eq(reallocations_after(&f, 10, 0), 0);
    cr_expect_eq(reallocations_after(&f, 21, 2), 1);
    cr_expect_eq(reallocations_after(&f, 21, 3), 0);
    method_fixture_free(&f);
}

Test(set, stats_report_the_epoch_and_reset)
{
    const char *const zeta[] = {"zeta=0.1", NULL};
    struct method_fixture f;
    setup(&f, 0.9, 6, zeta);
    step(&f, 100, 0);
    step(&f, 200, 0);
    struct set_stats s = read_stats(&f);
    /* per reallocation 2353 + 301 + 11 */
    cr_expect_eq(s.pruned, 2 * (2353 + 301 + 11));
    cr_expect_eq(s.grown, s.pruned);
    cr_expect_eq(s.reallocations, 2);
    cr_expect_eq(s.zeta, 0.1);
    s = read_stats(&f);
    cr_expect_eq(s.pruned + s.grown + s.reallocations, 0);
    method_fixture_free(&f);
}

Test(set, rejects_bad_schedules)
{
    struct method_fixture f;
    const char *const falling[] = {"p_epoch1=90", NULL};
    cr_expect_eq(method_fixture_try(&f, &method_set,
                                    (struct method_setup){.sparsity = 0.9, .seed = 1,
                                                          .options = falling}),
                 -1);
    method_fixture_free(&f);
    const char *const fractional[] = {"period=2.5", NULL};
    cr_expect_eq(method_fixture_try(&f, &method_set,
                                    (struct method_setup){.sparsity = 0.9, .seed = 1,
                                                          .options = fractional}),
                 -1);
    method_fixture_free(&f);
}

/* realloc_prune_smallest on fc3 with hand-set values against a sorted reference */
static int by_magnitude_then_index(const void *a, const void *b)
{
    const float *const *x = a, *const *y = b;
    const float fx = fabsf(**x), fy = fabsf(**y);
    if (fx != fy)
        return fx < fy ? -1 : 1;
    return *x < *y ? -1 : *x > *y;
}

static void check_selection(struct method_fixture *f, size_t k, const char *what)
{
    struct sparse_tensor *fc3 = tensor(f, FC3);
    const struct param *p = fc3->param;
    const float *ranked[1000] = {0};
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++)
        if (p->mask[i])
            ranked[n++] = &p->value[i];
    qsort(ranked, n, sizeof ranked[0], by_magnitude_then_index);
    uint8_t expect_pruned[1000] = {0};
    for (size_t i = 0; i < k && i < n; i++)
        expect_pruned[ranked[i] - p->value] = 1;
    uint8_t was_active[1000];
    memcpy(was_active, p->mask, p->count);
    struct realloc_scratch s;
    cr_assert_eq(realloc_scratch_init(&s, &f->run.store), 0);
    realloc_begin(&f->run.store, &s);
    realloc_prune_smallest(&f->run.store, &s, FC3, k);
    cr_expect_eq(s.pruned[FC3], k < n ? k : n, "%s: k %zu", what, k);
    for (size_t i = 0; i < p->count; i++)
        cr_assert_eq(was_active[i] && !p->mask[i], expect_pruned[i], "%s: k %zu, fc3[%zu]",
                     what, k, i);
    realloc_scratch_free(&s);
}

Test(set, smallest_magnitude_selection_matches_a_sort_and_breaks_ties_by_index)
{
    static const char *const kinds[] = {"random", "rising", "falling", "all tied", "signed ties"};
    static const size_t ks[] = {0, 1, 2, 37, 99, 100, 150};
    for (size_t kind = 0; kind < sizeof kinds / sizeof kinds[0]; kind++) {
        for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
            struct method_fixture f;
            setup(&f, 0.9, 7 + kind, NULL);
            const struct param *p = tensor(&f, FC3)->param;
            struct rng r = rng_stream(50 + kind, RNG_WEIGHT_INIT);
            size_t rank = 0;
            for (size_t i = 0; i < p->count; i++) {
                if (!p->mask[i])
                    continue;
                const float v = kind == 0   ? rng_normal(&r)
                                : kind == 1 ? (float)rank
                                : kind == 2 ? (float)(1000 - rank)
                                : kind == 3 ? 0.25f
                                            : (rank % 2 ? -1.0f : 1.0f) * (float)(rank % 5);
                p->value[i] = v;
                rank++;
            }
            check_selection(&f, ks[j], kinds[kind]);
            method_fixture_free(&f);
        }
    }
}

/* fc1's mask after five reallocations with the given method seed */
static uint8_t *mask_after_reallocations(uint64_t method_seed)
{
    return method_fixture_mask_after_reallocations(&method_set, NULL, method_seed);
}

Test(set, the_method_stream_alone_decides_the_masks)
{
    method_fixture_expect_stream_decides_masks(mask_after_reallocations, 235200);
}
