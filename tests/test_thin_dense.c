/* Thin dense (PAPER.md "Baselines"): the solved width matches the sparse
 * budget, the reference code's widths over-shoot it, width_factor and
 * round_up are honoured, bad options are refused, and the net is dense. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method_fixture.h"

extern const struct method method_thin_dense;

static const double paper_sparsities[] = {0.9, 0.8, 0.7, 0.6, 0.5};
/* PAPER.md's "Reference results" params column: the sparse WRN-28-2's count */
static const size_t paper_budgets[] = {161229, 306384, 451532, 596687, 741850};
/* the counts at the reference code's widths K = 0.75, 0.98, 1.15, 1.33, 1.47 (stem 16
 * channels, groups round(16K), round(32K), round(64K)), worked out by hand */
static const size_t reference_counts[] = {209130, 356376, 491845, 652093, 795477};

static int try_setup(struct method_fixture *f, const char *model, double sparsity,
                     const char *const *options)
{
    const int wrn = strncmp(model, "wrn", 3) == 0;
    return method_fixture_try(f, &method_thin_dense,
                              (struct method_setup){.model = model, .c = wrn ? 3 : 1,
                                                    .h = wrn ? 32 : 28, .w = wrn ? 32 : 28,
                                                    .sparsity = sparsity, .seed = 1,
                                                    .options = options});
}

static void setup(struct method_fixture *f, const char *model, double sparsity,
                  const char *const *options)
{
    cr_assert_eq(try_setup(f, model, sparsity, options), 0, "thin-dense %s at %g refused", model,
                 sparsity);
}

static double gap(size_t count, size_t budget)
{
    return ((double)count - (double)budget) / (double)budget;
}

static double option(const struct method_fixture *f, const char *name)
{
    return f->run.option[method_option_index(&method_thin_dense, name)];
}

static int out_channels(const struct method_fixture *f, const char *param)
{
    const struct param *p = net_find_param(f->net, param);
    cr_assert_not_null(p, "no %s", param);
    return p->shape[0];
}

Test(thin_dense, wrn_28_2_solves_within_half_a_percent_of_the_paper_budgets)
{
    static const char *stage_params[4] = {"conv1.weight", "block1.0.conv1.weight",
                                          "block2.0.conv1.weight", "block3.0.conv1.weight"};
    static const double published[4] = {16, 32, 64, 128};
    cr_log_info("thin dense WRN-28-2 on 3x32x32: solved vs reference widths");
    cr_log_info("%8s %10s %8s %10s %8s %10s %9s", "sparsity", "budget", "factor", "solved",
                "gap", "reference", "overshoot");
    for (int s = 0; s < 5; s++) {
        struct method_fixture f;
        setup(&f, "wrn-28-2", paper_sparsities[s], NULL);
        const size_t count = net_param_count(f.net);
        const double budget = method_fixture_stat(&f, "budget");
        cr_expect_eq(budget, (double)paper_budgets[s], "s %g: budget %g, PAPER.md says %zu",
                     paper_sparsities[s], budget, paper_budgets[s]);
        cr_expect_leq(fabs(gap(count, paper_budgets[s])), 0.005, "s %g: %zu vs %zu",
                      paper_sparsities[s], count, paper_budgets[s]);
        const double w = option(&f, "width_factor");
        cr_expect_eq(method_fixture_stat(&f, "width_factor"), w);
        /* every stage within one channel of w times its published width */
        for (int i = 0; i < 4; i++) {
            const int c = out_channels(&f, stage_params[i]);
            cr_expect_lt(fabs(c - w * published[i]), 1.0, "s %g: %s has %d channels, w %g",
                         paper_sparsities[s], stage_params[i], c, w);
        }
        cr_expect_eq(method_thin_dense.learnable_params, NULL);
        cr_log_info("%8g %10zu %8g %10zu %+7.2f%% %10zu %+8.2f%%", paper_sparsities[s],
                    paper_budgets[s], w, count, 100 * gap(count, paper_budgets[s]),
                    reference_counts[s], 100 * gap(reference_counts[s], paper_budgets[s]));
        method_fixture_free(&f);
    }
}

Test(thin_dense, a_solved_width_rebuilds_from_its_recorded_options)
{
    struct method_fixture solved, again;
    setup(&solved, "wrn-28-2", 0.9, NULL);
    char factor[64], round_up[64];
    snprintf(factor, sizeof factor, "width_factor=%g", option(&solved, "width_factor"));
    snprintf(round_up, sizeof round_up, "round_up=%g", option(&solved, "round_up"));
    const char *options[] = {factor, round_up, NULL};
    setup(&again, "wrn-28-2", 0.9, options);
    cr_expect_eq(net_param_count(again.net), net_param_count(solved.net));
    for (int i = 0; i < solved.net->n_params; i++)
        cr_expect_eq(solved.net->params[i]->count, again.net->params[i]->count, "%s",
                     solved.net->params[i]->name);
    method_fixture_free(&solved);
    method_fixture_free(&again);
}

Test(thin_dense, reference_widths_overshoot_the_budget_by_7_to_30_percent)
{
    const char *options[] = {"reference=1", NULL};
    for (int s = 0; s < 5; s++) {
        struct method_fixture f;
        setup(&f, "wrn-28-2", paper_sparsities[s], options);
        const size_t count = net_param_count(f.net);
        cr_expect_eq(count, reference_counts[s], "s %g: %zu", paper_sparsities[s], count);
        const double over = gap(count, paper_budgets[s]);
        cr_expect(over >= 0.07 && over <= 0.30, "s %g: %zu over-shoots %zu by %.1f%%",
                  paper_sparsities[s], count, paper_budgets[s], 100 * over);
        /* K = 0.75 at s = 0.9: groups of 12, 24 and 48 channels, the stem keeps 16 */
        if (s == 0) {
            cr_expect_eq(out_channels(&f, "conv1.weight"), 16);
            cr_expect_eq(out_channels(&f, "block3.0.conv1.weight"), 48);
            cr_expect_eq(method_fixture_stat(&f, "width_factor"), 0.375);
        }
        method_fixture_free(&f);
    }
}

/* LeNet-300-100's count at hidden widths h1, h2 */
static size_t lenet_count(int h1, int h2)
{
    return 784u * h1 + h1 + (size_t)h1 * h2 + h2 + 10u * h2 + 10;
}

/* the closest count any grid factor and rounding gives, by brute force */
static size_t lenet_closest(size_t budget)
{
    size_t best = 0;
    for (int k = 1; k <= 10000; k++) {
        const double w = k / 10000.0;
        for (int up = 0; up < 4; up++) {
            const double x1 = 300 * w, x2 = 100 * w;
            int h1 = (int)(up & 1 ? ceil(x1 - 1e-9) : floor(x1 + 1e-9));
            int h2 = (int)(up & 2 ? ceil(x2 - 1e-9) : floor(x2 + 1e-9));
            h1 = h1 < 1 ? 1 : h1;
            h2 = h2 < 1 ? 1 : h2;
            const size_t c = lenet_count(h1, h2);
            if (!best || fabs(gap(c, budget)) < fabs(gap(best, budget)))
                best = c;
        }
    }
    return best;
}

Test(thin_dense, lenet_300_100_steps_are_too_coarse_for_half_a_percent)
{
    /* one fc1 unit is 785+ parameters: 2.9% of the 27030 budget at s = 0.9
     * and 14% of the 5734 at 0.98. The solver refuses at the default
     * tolerance and, allowed more, finds the closest count there is. */
    const struct {
        double sparsity;
        size_t budget;
    } cases[] = {{0.9, 27030}, {0.98, 5734}};
    for (int c = 0; c < 2; c++) {
        struct method_fixture f;
        cr_expect_neq(try_setup(&f, "lenet-300-100", cases[c].sparsity, NULL), 0,
                      "s %g solved within 0.5%%", cases[c].sparsity);
        method_fixture_free(&f);
        const size_t closest = lenet_closest(cases[c].budget);
        cr_expect_gt(fabs(gap(closest, cases[c].budget)), 0.005);
        const char *options[] = {"tolerance=0.05", NULL};
        setup(&f, "lenet-300-100", cases[c].sparsity, options);
        cr_expect_eq(method_fixture_stat(&f, "budget"), (double)cases[c].budget);
        cr_expect_eq(net_param_count(f.net), closest, "s %g: solved %zu, the closest is %zu",
                     cases[c].sparsity, net_param_count(f.net), closest);
        cr_log_info("lenet-300-100 s %g: budget %zu, closest %zu (%+.2f%%), factor %g", cases[c].sparsity,
                    cases[c].budget, closest, 100 * gap(closest, cases[c].budget),
                    option(&f, "width_factor"));
        method_fixture_free(&f);
    }
}

Test(thin_dense, width_factor_and_round_up_are_honoured)
{
    struct method_fixture f;
    const char *nearest[] = {"width_factor=0.5", NULL};
    setup(&f, "lenet-300-100", 0.9, nearest);
    cr_expect_eq(out_channels(&f, "fc1.weight"), 150);
    cr_expect_eq(out_channels(&f, "fc2.weight"), 50);
    cr_expect_eq(net_param_count(f.net), lenet_count(150, 50));
    cr_expect_eq(method_fixture_stat(&f, "width_factor"), 0.5);
    cr_expect_eq(option(&f, "width_factor"), 0.5);
    method_fixture_free(&f);

    /* 300 * 0.333 = 99.9 and 100 * 0.333 = 33.3: bit 0 rounds fc1 up, bit 1 fc2 */
    const struct {
        const char *round_up;
        int h1, h2;
    } cases[] = {{"round_up=0", 99, 33}, {"round_up=1", 100, 33}, {"round_up=2", 99, 34},
                 {"round_up=3", 100, 34}, {"round_up=-1", 100, 33}};
    for (int c = 0; c < 5; c++) {
        const char *options[] = {"width_factor=0.333", cases[c].round_up, NULL};
        setup(&f, "lenet-300-100", 0.9, options);
        cr_expect_eq(out_channels(&f, "fc1.weight"), cases[c].h1, "%s", cases[c].round_up);
        cr_expect_eq(out_channels(&f, "fc2.weight"), cases[c].h2, "%s", cases[c].round_up);
        method_fixture_free(&f);
    }
}

Test(thin_dense, bad_options_are_refused)
{
    const struct {
        const char *model;
        double sparsity;
        const char *options[3];
    } cases[] = {
        {"lenet-300-100", 0.9, {"reference=1"}},                 /* not a WRN */
        {"wrn-28-2", 0.75, {"reference=1"}},                     /* no released width */
        {"wrn-28-2", 0.9, {"reference=1", "width_factor=0.5"}},  /* both */
        {"wrn-28-2", 0.9, {"reference=0.5"}},
        {"wrn-28-2", 0.9, {"round_up=3"}},                       /* round_up without a factor */
        {"lenet-300-100", 0.9, {"width_factor=0.5", "round_up=4"}}, /* two stages: 0..3 */
        {"lenet-300-100", 0.9, {"width_factor=0.5", "round_up=1.5"}},
        {"wrn-28-2", 0.9, {"tolerance=0.001"}},                  /* closest is 0.24% off */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct method_fixture f;
        cr_expect_neq(try_setup(&f, cases[c].model, cases[c].sparsity, cases[c].options), 0,
                      "case %zu (%s %s) accepted", c, cases[c].options[0],
                      cases[c].options[1] ? cases[c].options[1] : "");
        method_fixture_free(&f);
    }
}

Test(thin_dense, the_net_is_dense_with_every_weight_drawn)
{
    struct method_fixture f;
    setup(&f, "wrn-28-2", 0.9, NULL);
    cr_expect_eq(sparse_store_active(&f.run.store), f.run.store.positions);
    char err[256];
    cr_expect_eq(sparse_store_check(&f.run.store, err, sizeof err), 0, "%s", err);
    for (int t = 0; t < f.run.store.count; t++) {
        const struct param *p = f.run.store.tensors[t].param;
        size_t zeros = 0;
        for (size_t i = 0; i < p->count; i++)
            zeros += p->value[i] == 0.0f;
        cr_expect_eq(zeros, 0, "%s: %zu of %zu weights are zero", p->name, zeros, p->count);
    }
    method_fixture_free(&f);
}
