/* DSR (PAPER.md "DSR (Algorithm 1), exact semantics") and the prune /
 * redistribute / grow steps under it. The nets are LeNet-300-100 at sparsity
 * 0.9: fc1 23520 of 235200 active, fc2 3000 of 30000, fc3 100 of 1000. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "method_fixture.h"
#include "models.h"
#include "realloc.h"

extern const struct method method_dsr;

enum { FC1, FC2, FC3 };

static void setup(struct method_fixture *f, double sparsity, uint64_t seed,
                  const char *const *options)
{
    method_fixture_setup(f, &method_dsr,
                         (struct method_setup){.sparsity = sparsity, .seed = seed,
                                               .options = options});
}

/* H0 = 0.02: about 31% of weights drawn from N(0, 0.05^2) fall below it */
static const char *const h0_002[] = {"h0=0.02", NULL};
/* N_p = 1000: the tests prune counts around it to move H */
static const char *const np_1000[] = {"np=1000", NULL};

static int option_index(const char *name)
{
    return method_option_index(&method_dsr, name);
}

static void step(struct method_fixture *f, long iteration, int epoch)
{
    method_fixture_hook(f, method_dsr.after_step, epoch, iteration);
}

struct dsr_stats {
    double h, pruned, grown, reallocations;
};

/* every column of one epoch from one stats call (the call resets the counts) */
static struct dsr_stats read_stats(struct method_fixture *f)
{
    static const char *const names[] = {"H", "pruned", "grown", "reallocations"};
    double v[4];
    method_fixture_stats(f, names, v, 4);
    return (struct dsr_stats){.h = v[0], .pruned = v[1], .grown = v[2], .reallocations = v[3]};
}

static struct sparse_tensor *tensor(struct method_fixture *f, int l)
{
    return &f->run.store.tensors[l];
}

/* every active weight of every tensor to v */
static void set_active_weights(struct method_fixture *f, float v)
{
    for (int l = 0; l < f->run.store.count; l++) {
        const struct param *p = tensor(f, l)->param;
        for (size_t i = 0; i < p->count; i++)
            if (p->mask[i])
                p->value[i] = v;
    }
}

/* the first m active weights of tensor l to v */
static void set_first_active(struct method_fixture *f, int l, size_t m, float v)
{
    const struct param *p = tensor(f, l)->param;
    for (size_t i = 0; i < p->count && m > 0; i++)
        if (p->mask[i]) {
            p->value[i] = v;
            m--;
        }
}

Test(dsr, budget_is_exact_over_many_reallocations)
{
    struct method_fixture f;
    setup(&f, 0.9, 1, h0_002);
    const size_t budget = sparse_store_active(&f.run.store);
    struct rng r = rng_stream(11, RNG_WEIGHT_INIT);
    double moved = 0;
    for (int k = 1; k <= 40; k++) {
        method_fixture_randomize_active(&f, &r, 0.05f);
        step(&f, 100L * k, 0);
        cr_assert_eq(sparse_store_active(&f.run.store), budget, "after reallocation %d", k);
        for (int l = 0; l < f.run.store.count; l++)
            cr_assert_geq(tensor(&f, l)->active, 1);
        const struct dsr_stats s = read_stats(&f);
        cr_assert_eq(s.pruned, s.grown);
        cr_assert_eq(s.reallocations, 1);
        moved += s.pruned;
    }
    cr_expect_gt(moved, 40 * 1000, "only %g weights moved in 40 reallocations", moved);
    method_fixture_expect_consistent(&f);
    method_fixture_free(&f);
}

Test(dsr, never_regrows_where_it_pruned_and_grows_at_zero)
{
    struct method_fixture f;
    setup(&f, 0.9, 2, h0_002);
    struct rng r = rng_stream(12, RNG_WEIGHT_INIT);
    method_fixture_randomize_active(&f, &r, 0.05f);
    const double h = 0.02;
    uint8_t *mask[3];
    float *value[3];
    for (int l = 0; l < 3; l++) {
        const struct param *p = tensor(&f, l)->param;
        mask[l] = malloc(p->count);
        value[l] = malloc(p->count * sizeof(float));
        memcpy(mask[l], p->mask, p->count);
        memcpy(value[l], p->value, p->count * sizeof(float));
    }
    step(&f, 100, 0);
    size_t pruned = 0, grown = 0;
    double grown_fc1 = 0, grown_fc1_index = 0;
    for (int l = 0; l < 3; l++) {
        const struct param *p = tensor(&f, l)->param;
        for (size_t i = 0; i < p->count; i++) {
            const int below = mask[l][i] && fabsf(value[l][i]) < h;
            cr_assert(!below || !p->mask[i], "%s[%zu] pruned and regrown in one step", p->name,
                      i);
            cr_assert(below || !mask[l][i] || p->value[i] == value[l][i],
                      "%s[%zu] kept but changed", p->name, i);
            if (!mask[l][i] && p->mask[i])
                cr_assert_eq(p->value[i], 0.0f, "%s[%zu] grown at %g", p->name, i,
                             (double)p->value[i]);
            pruned += below;
            grown += !mask[l][i] && p->mask[i];
            if (l == FC1 && !mask[l][i] && p->mask[i]) {
                grown_fc1++;
                grown_fc1_index += (double)i / (double)p->count;
            }
        }
        free(mask[l]);
        free(value[l]);
    }
    cr_expect_gt(pruned, 0);
    cr_expect_eq(grown, pruned);
    /* uniform positions: their mean relative index is near 1/2 (std 0.29 / sqrt(n)) */
    cr_expect_gt(grown_fc1, 1000);
    cr_expect(fabs(grown_fc1_index / grown_fc1 - 0.5) < 0.05, "grown fc1 positions average %g",
              grown_fc1_index / grown_fc1);
    method_fixture_expect_consistent(&f);
    method_fixture_free(&f);
}

/* prunes exactly m weights (from fc1) with N_p = 1000 and returns H after */
static double threshold_after_pruning(size_t m)
{
    struct method_fixture f;
    setup(&f, 0.9, 3, np_1000);
    set_active_weights(&f, 1.0f);
    set_first_active(&f, FC1, m, 1e-4f);
    step(&f, 100, 0);
    const struct dsr_stats s = read_stats(&f);
    cr_assert_eq(s.pruned, (double)m);
    method_fixture_free(&f);
    return s.h;
}

Test(dsr, threshold_doubles_below_and_halves_above_the_target_band)
{
    cr_expect_eq(threshold_after_pruning(800), 2e-3); /* < 0.9 N_p */
    cr_expect_eq(threshold_after_pruning(899), 2e-3);
    cr_expect_eq(threshold_after_pruning(900), 1e-3); /* the band is closed */
    cr_expect_eq(threshold_after_pruning(1000), 1e-3);
    cr_expect_eq(threshold_after_pruning(1100), 1e-3);
    cr_expect_eq(threshold_after_pruning(1101), 5e-4); /* > 1.1 N_p */
}

Test(dsr, threshold_persists_across_reallocations_and_epochs)
{
    struct method_fixture f;
    setup(&f, 0.9, 3, np_1000);
    const int iterations[3][2] = {{100, 0}, {200, 0}, {5200, 100}}; /* P = 400 at epoch 100 */
    for (int k = 0; k < 3; k++) {
        set_active_weights(&f, 1.0f); /* nothing is below H but ... */
        set_first_active(&f, FC1, 2000, 1e-5f); /* ... these 2000 > 1.1 N_p */
        step(&f, iterations[k][0], iterations[k][1]);
        cr_expect_eq(read_stats(&f).h, 1e-3 / (2 << k), "after reallocation %d", k + 1);
    }
    method_fixture_free(&f);
}

/* per-tensor active counts of the fixture */
static void active_counts(struct method_fixture *f, size_t out[3])
{
    for (int l = 0; l < 3; l++)
        out[l] = tensor(f, l)->active;
}

Test(dsr, regrowth_is_split_by_surviving_counts)
{
    struct method_fixture f;
    setup(&f, 0.9, 4, NULL);
    set_active_weights(&f, 1.0f);
    set_first_active(&f, FC1, 1000, 1e-4f);
    step(&f, 100, 0);
    /* R = 22520 / 3000 / 100 of 25620: G = round(878.99, 117.10, 3.90) = 879 + 117 + 4 */
    size_t active[3];
    active_counts(&f, active);
    cr_expect_eq(active[FC1], 23520 - 1000 + 879);
    cr_expect_eq(active[FC2], 3000 + 117);
    cr_expect_eq(active[FC3], 100 + 4);
    method_fixture_free(&f);
}

Test(dsr, a_tensor_never_empties_its_first_active_weight_survives)
{
    struct method_fixture f;
    setup(&f, 0.9, 5, NULL);
    set_active_weights(&f, 1.0f);
    set_first_active(&f, FC3, 100, 1e-5f);
    const struct param *fc3 = tensor(&f, FC3)->param;
    size_t first = 0;
    while (!fc3->mask[first])
        first++;
    step(&f, 100, 0);
    /* K = 99 over R = 23520 / 3000 / 1: fc3's share rounds to 0 */
    cr_expect_eq(tensor(&f, FC3)->active, 1);
    cr_expect_eq(fc3->mask[first], 1);
    cr_expect_eq(fc3->value[first], 1e-5f);
    size_t active[3];
    active_counts(&f, active);
    cr_expect_eq(active[FC1], 23520 + 88); /* round(87.80) */
    cr_expect_eq(active[FC2], 3000 + 11);  /* round(11.20) */
    method_fixture_free(&f);
}

Test(dsr, a_full_tensor_gets_nothing_and_its_share_goes_elsewhere)
{
    struct method_fixture f;
    setup(&f, 0.9, 6, NULL);
    for (size_t i = 0; i < 1000; i++)
        sparse_activate(tensor(&f, FC3), i, 1.0f);
    set_active_weights(&f, 1.0f);
    set_first_active(&f, FC1, 1000, 1e-4f);
    step(&f, 100, 0);
    /* R = 22520 / 3000 / 1000 of 26520: shares 849 + 113 + 38; fc3's 38 is
     * re-split 22520 : 3000, round(33.53) + round(4.47) = 34 + 4 */
    size_t active[3];
    active_counts(&f, active);
    cr_expect_eq(active[FC1], 23520 - 1000 + 849 + 34);
    cr_expect_eq(active[FC2], 3000 + 113 + 4);
    cr_expect_eq(active[FC3], 1000);
    method_fixture_expect_consistent(&f);
    method_fixture_free(&f);
}

/* realloc_redistribute over hand-made counts */
static void redistribute(size_t k, int n, const size_t *survivors, const size_t *room,
                         size_t *grow, uint64_t seed)
{
    size_t surv[8], rm[8], share[8];
    memcpy(surv, survivors, (size_t)n * sizeof(size_t));
    memcpy(rm, room, (size_t)n * sizeof(size_t));
    struct realloc_scratch s = {.count = n, .survivors = surv, .room = rm, .grow = grow,
                                .share = share};
    struct rng r = rng_stream(seed, RNG_METHOD);
    realloc_redistribute(k, &s, &r);
}

static size_t sum(const size_t *x, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += x[i];
    return total;
}

Test(dsr, rounding_overshoot_comes_off_one_random_tensor)
{
    /* 1.5 + 1.5 round (half away from zero) to 2 + 2: one loses the extra */
    const size_t survivors[2] = {1, 1}, room[2] = {10, 10};
    int lost[2] = {0, 0};
    for (uint64_t seed = 1; seed <= 40; seed++) {
        size_t grow[2];
        redistribute(3, 2, survivors, room, grow, seed);
        cr_assert_eq(sum(grow, 2), 3);
        cr_assert(grow[0] >= 1 && grow[1] >= 1);
        lost[grow[0] == 1]++;
    }
    cr_expect(lost[0] > 5 && lost[1] > 5, "tensor 0 lost %d, tensor 1 %d of 40", lost[1],
              lost[0]);
    /* six shares of 0.5 round to 1 each: the excess of 3 leaves no share negative */
    const size_t six[6] = {1, 1, 1, 1, 1, 1}, six_room[6] = {5, 5, 5, 5, 5, 5};
    size_t grow[6];
    redistribute(3, 6, six, six_room, grow, 7);
    cr_expect_eq(sum(grow, 6), 3);
    for (int l = 0; l < 6; l++)
        cr_expect_leq(grow[l], 1);
}

Test(dsr, rounding_shortfall_goes_to_one_random_tensor)
{
    const size_t survivors[3] = {1, 1, 1}, room[3] = {100, 100, 100};
    int got[3] = {0, 0, 0};
    for (uint64_t seed = 1; seed <= 60; seed++) {
        size_t grow[3];
        redistribute(10, 3, survivors, room, grow, seed);
        cr_assert_eq(sum(grow, 3), 10);
        for (int l = 0; l < 3; l++) {
            cr_assert(grow[l] == 3 || grow[l] == 4);
            got[l] += grow[l] == 4;
        }
    }
    for (int l = 0; l < 3; l++)
        cr_expect_gt(got[l], 5, "tensor %d got the remainder %d times of 60", l, got[l]);
}

Test(dsr, overflow_is_resplit_over_tensors_with_room)
{
    const size_t survivors[3] = {50, 25, 25}, room[3] = {10, 1000, 1000};
    size_t grow[3];
    redistribute(100, 3, survivors, room, grow, 1);
    cr_expect_eq(grow[0], 10);
    cr_expect_eq(grow[1], 45);
    cr_expect_eq(grow[2], 45);
    /* only a tensor without survivors has room: it takes everything */
    const size_t lone[2] = {10, 0}, lone_room[2] = {0, 100};
    redistribute(5, 2, lone, lone_room, grow, 1);
    cr_expect_eq(grow[0], 0);
    cr_expect_eq(grow[1], 5);
}

Test(dsr, reallocates_every_p_iterations_p_doubling_until_the_stop_epoch)
{
    struct method_fixture f;
    setup(&f, 0.9, 7, NULL);
    method_fixture_expect_paper_schedule(&f);
    method_fixture_free(&f);
}

/* fc1's mask after five reallocations with the given method seed */
static uint8_t *mask_after_reallocations(uint64_t method_seed)
{
    return method_fixture_mask_after_reallocations(&method_dsr, h0_002, method_seed);
}

Test(dsr, the_method_stream_alone_decides_the_masks)
{
    method_fixture_expect_stream_decides_masks(mask_after_reallocations, 235200);
}

Test(dsr, defaults_follow_the_paper_setup_of_the_model)
{
    struct method_fixture f;
    setup(&f, 0.9, 1, NULL);
    /* 20000 * 266200 / 1451520 sparse positions */
    cr_expect_eq(f.run.option[option_index("np")], 3668);
    cr_expect_eq(f.run.option[option_index("period")], 100);
    cr_expect_eq(f.run.option[option_index("stop_epoch")], 190);
    method_fixture_free(&f);

    method_fixture_setup(&f, &method_dsr,
                         (struct method_setup){.model = "wrn-28-2", .c = 3, .h = 32, .w = 32,
                                               .sparsity = 0.9, .seed = 1});
    cr_expect_eq(f.run.option[option_index("np")], 20000);
    method_fixture_free(&f);

    struct model_spec spec;
    char err[256];
    cr_assert_eq(model_parse("resnet-50", &spec, err, sizeof err), 0, "%s", err);
    struct method_run run = {.method = &method_dsr};
    cr_assert_eq(method_dsr.configure(&run, &spec), 0);
    static const struct {
        const char *name;
        double value;
    } imagenet[] = {{"np", 400000}, {"delta", 0.1},  {"h0", 1e-3},     {"period", 1000},
                    {"p_epoch1", 25}, {"p_epoch2", 50}, {"p_epoch3", 75}, {"stop_epoch", 95}};
    for (size_t i = 0; i < sizeof imagenet / sizeof imagenet[0]; i++)
        cr_expect_eq(run.option[option_index(imagenet[i].name)], imagenet[i].value, "%s",
                     imagenet[i].name);
}

Test(dsr, stats_report_the_epoch_and_reset)
{
    struct method_fixture f;
    setup(&f, 0.9, 9, np_1000);
    set_active_weights(&f, 1.0f);
    set_first_active(&f, FC1, 1000, 1e-4f);
    step(&f, 100, 0);
    set_active_weights(&f, 1.0f);
    set_first_active(&f, FC2, 500, 1e-4f);
    step(&f, 200, 0);
    struct dsr_stats s = read_stats(&f);
    cr_expect_eq(s.pruned, 1500);
    cr_expect_eq(s.grown, 1500);
    cr_expect_eq(s.reallocations, 2);
    cr_expect_eq(s.h, 2e-3); /* 1000 kept H, 500 doubled it */
    s = read_stats(&f);
    cr_expect_eq(s.pruned + s.grown + s.reallocations, 0);
    cr_expect_eq(s.h, 2e-3);
    method_fixture_free(&f);
}

Test(dsr, refuses_sparsity_below_one_half)
{
    struct method_fixture f;
    cr_expect_eq(method_fixture_try(&f, &method_dsr,
                                    (struct method_setup){.sparsity = 0.4, .seed = 1}),
                 -1);
    method_fixture_free(&f);
}

Test(dsr, rejects_periods_that_do_not_rise)
{
    struct model_spec spec;
    char err[256];
    cr_assert_eq(model_parse("lenet-300-100", &spec, err, sizeof err), 0, "%s", err);
    struct method_run run = {.method = &method_dsr};
    run.option[option_index("p_epoch1")] = 90;
    cr_expect_eq(method_dsr.configure(&run, &spec), -1);
    run.option[option_index("p_epoch1")] = 0;
    run.option[option_index("period")] = 2.5;
    cr_expect_eq(method_dsr.configure(&run, &spec), -1);
}
