/* DeepR (PAPER.md "Baselines"). The nets are LeNet-300-100, at sparsity 0.9
 * unless a test says otherwise: fc1 23520 of 235200 active, fc2 3000 of 30000,
 * fc3 100 of 1000. The stored signs are read through the checkpoint hook: its
 * bytes end with one int8 per store position, tensors back to back. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "method_fixture.h"

extern const struct method method_deepr;

enum { FC1, FC2, FC3, TENSORS };

static void setup(struct method_fixture *f, double sparsity, uint64_t seed,
                  const char *const *options)
{
    method_fixture_setup(f, &method_deepr,
                         (struct method_setup){.sparsity = sparsity, .seed = seed,
                                               .options = options});
}

static struct sparse_tensor *tensor(struct method_fixture *f, int l)
{
    return &f->run.store.tensors[l];
}

static void step(struct method_fixture *f, int epoch, long iteration)
{
    method_fixture_hook(f, method_deepr.after_step, epoch, iteration);
}

static void backward(struct method_fixture *f, int epoch)
{
    method_fixture_hook(f, method_deepr.after_backward, epoch, 0);
}

/* the saved state; its last `positions` bytes are the signs */
static int8_t *saved_state(struct method_fixture *f, size_t *size)
{
    *size = method_deepr.state_size(&f->run);
    cr_assert_gt(*size, f->run.store.positions);
    int8_t *bytes = malloc(*size);
    method_deepr.state_save(&f->run, bytes);
    return bytes;
}

/* the stored signs of tensor l, as a copy */
static int8_t *stored_signs(struct method_fixture *f, int l)
{
    size_t size, offset = 0;
    int8_t *state = saved_state(f, &size);
    for (int k = 0; k < l; k++)
        offset += tensor(f, k)->param->count;
    const size_t n = tensor(f, l)->param->count;
    int8_t *signs = malloc(n);
    memcpy(signs, state + size - f->run.store.positions + offset, n);
    free(state);
    return signs;
}

struct deepr_stats {
    double t, flipped, grown, steps;
};

/* every column of one epoch from one stats call (the call resets the counts) */
static struct deepr_stats read_stats(struct method_fixture *f)
{
    static const char *const names[] = {"T", "flipped", "grown", "rewiring_steps"};
    double v[4];
    method_fixture_stats(f, names, v, 4);
    return (struct deepr_stats){.t = v[0], .flipped = v[1], .grown = v[2], .steps = v[3]};
}

static int sign_of(float w)
{
    return (w > 0.0f) - (w < 0.0f);
}

Test(deepr, every_tensor_keeps_its_active_count_after_every_step)
{
    struct method_fixture f;
    setup(&f, 0.9, 1, NULL);
    size_t active[TENSORS];
    for (int l = 0; l < TENSORS; l++)
        active[l] = tensor(&f, l)->active;
    struct rng r = rng_stream(31, RNG_WEIGHT_INIT);
    double flipped = 0;
    for (long it = 0; it < 25; it++) {
        /* fresh random values: about half the signs disagree with the stored ones */
        for (int l = 0; l < TENSORS; l++) {
            const struct param *p = tensor(&f, l)->param;
            for (size_t i = 0; i < p->count; i++)
                if (p->mask[i])
                    p->value[i] = 0.05f * rng_normal(&r);
        }
        step(&f, 0, it);
        for (int l = 0; l < TENSORS; l++)
            cr_assert_eq(tensor(&f, l)->active, active[l], "tensor %d after step %ld", l, it);
        const struct deepr_stats s = read_stats(&f);
        cr_assert_eq(s.flipped, s.grown);
        cr_assert_eq(s.steps, 1);
        flipped += s.flipped;
    }
    cr_expect_gt(flipped, 25 * 5000, "only %g weights flipped in 25 steps", flipped);
    method_fixture_expect_consistent(&f);
    method_fixture_free(&f);
}

Test(deepr, deactivates_exactly_the_sign_flipped_weights_and_regrows_them_at_zero)
{
    struct method_fixture f;
    setup(&f, 0.9, 2, NULL);
    uint8_t *mask[TENSORS], *flip[TENSORS];
    float *value[TENSORS];
    size_t flips[TENSORS] = {0};
    for (int l = 0; l < TENSORS; l++) {
        const struct param *p = tensor(&f, l)->param;
        flip[l] = calloc(p->count, 1);
        size_t rank = 0;
        for (size_t i = 0; i < p->count; i++) {
            if (!p->mask[i])
                continue;
            if (rank % 7 == 3) { /* every 7th active weight crosses zero */
                p->value[i] = -p->value[i];
                flip[l][i] = 1;
                flips[l]++;
            } else if (rank % 7 == 5) { /* landing exactly on 0 is no flip */
                p->value[i] = 0.0f;
            }
            rank++;
        }
        mask[l] = malloc(p->count);
        value[l] = malloc(p->count * sizeof(float));
        memcpy(mask[l], p->mask, p->count);
        memcpy(value[l], p->value, p->count * sizeof(float));
    }
    step(&f, 0, 0);
    for (int l = 0; l < TENSORS; l++) {
        const struct param *p = tensor(&f, l)->param;
        size_t grown = 0;
        for (size_t i = 0; i < p->count; i++) {
            if (mask[l][i]) {
                cr_assert_eq(!p->mask[i], flip[l][i], "%s[%zu]: flipped %d, active after %d",
                             p->name, i, flip[l][i], p->mask[i]);
                if (p->mask[i])
                    cr_assert_eq(p->value[i], value[l][i], "%s[%zu] kept but changed",
                                 p->name, i);
            } else if (p->mask[i]) {
                grown++;
                cr_assert_eq(p->value[i], 0.0f, "%s[%zu] grown at %g", p->name, i,
                             (double)p->value[i]);
            }
        }
        cr_expect_gt(flips[l], 10);
        cr_expect_eq(grown, flips[l], "%s: %zu grown for %zu flipped", p->name, grown, flips[l]);
        free(mask[l]);
        free(value[l]);
        free(flip[l]);
    }
    const struct deepr_stats s = read_stats(&f);
    cr_expect_eq(s.flipped, flips[FC1] + flips[FC2] + flips[FC3]);
    method_fixture_expect_consistent(&f);
    method_fixture_free(&f);
}

Test(deepr, a_weight_grown_at_zero_takes_the_sign_of_its_first_value)
{
    struct method_fixture f;
    setup(&f, 0.9, 3, NULL);
    const struct param *p = tensor(&f, FC3)->param;
    /* swap one active weight for a new one at 0, as a rewiring step would */
    size_t old = 0;
    while (!p->mask[old])
        old++;
    p->value[old] = -p->value[old];
    step(&f, 0, 0);
    cr_assert_eq(p->mask[old], 0);
    size_t grown = SIZE_MAX;
    for (size_t i = 0; i < p->count; i++)
        if (p->mask[i] && p->value[i] == 0.0f)
            grown = i;
    cr_assert_neq(grown, SIZE_MAX, "no weight of fc3 was grown at 0");
    int8_t *signs = stored_signs(&f, FC3);
    cr_expect_eq(signs[grown], 0);
    cr_expect_eq(signs[old], 0, "an inactive position stores a sign");
    free(signs);

    p->value[grown] = -0.5f; /* its first step gives it a sign: no flip */
    step(&f, 0, 1);
    cr_expect_eq(p->mask[grown], 1);
    signs = stored_signs(&f, FC3);
    cr_expect_eq(signs[grown], -1);
    free(signs);
    p->value[grown] = 0.5f; /* now it crossed zero */
    step(&f, 0, 2);
    cr_expect_eq(p->mask[grown], 0);
    method_fixture_free(&f);
}

Test(deepr, an_active_weight_at_exactly_zero_keeps_its_stored_sign)
{
    struct method_fixture f;
    setup(&f, 0.9, 4, NULL);
    const struct param *p = tensor(&f, FC3)->param;
    size_t i = 0;
    while (!p->mask[i])
        i++;
    const float w = p->value[i];
    p->value[i] = 0.0f;
    step(&f, 0, 0);
    cr_assert_eq(p->mask[i], 1);
    int8_t *signs = stored_signs(&f, FC3);
    cr_expect_eq(signs[i], sign_of(w));
    free(signs);
    p->value[i] = -w;
    step(&f, 0, 1);
    cr_expect_eq(p->mask[i], 0);
    method_fixture_free(&f);
}

/* sets every gradient of the sparse tensors to `active` / `inactive` */
static void fill_gradients(struct method_fixture *f, float active, float inactive)
{
    for (int l = 0; l < TENSORS; l++) {
        const struct param *p = tensor(f, l)->param;
        for (size_t i = 0; i < p->count; i++)
            p->grad[i] = p->mask[i] ? active : inactive;
    }
}

/* the sample std of the active gradients after one after_backward from 0;
 * fails when an inactive gradient moved */
static double noise_std(struct method_fixture *f, int epoch)
{
    fill_gradients(f, 0.0f, 0.0f);
    backward(f, epoch);
    double sum = 0, squares = 0;
    size_t n = 0;
    for (int l = 0; l < TENSORS; l++) {
        const struct param *p = tensor(f, l)->param;
        for (size_t i = 0; i < p->count; i++) {
            if (!p->mask[i]) {
                cr_assert_eq(p->grad[i], 0.0f, "%s[%zu] is inactive and got noise", p->name, i);
                continue;
            }
            sum += p->grad[i];
            squares += (double)p->grad[i] * p->grad[i];
            n++;
        }
    }
    cr_assert_gt(n, 100000);
    const double mean = sum / (double)n, std = sqrt(squares / (double)n - mean * mean);
    cr_expect_lt(fabs(mean), 5 * std / sqrt((double)n), "noise mean %g, std %g", mean, std);
    return std;
}

Test(deepr, gradient_noise_has_std_sqrt_2_eta_t_on_active_entries_only)
{
    /* sparsity 0.5: 133100 active weights, so a sample std is within 0.2%
     * (one standard error) of the true one; a 5% band cannot pass by chance */
    const char *const no_l1[] = {"l1=0", NULL};
    struct method_fixture f;
    setup(&f, 0.5, 5, no_l1);
    const double expect0 = sqrt(2 * 0.01 * 1e-5), got0 = noise_std(&f, 0);
    cr_expect_lt(fabs(got0 / expect0 - 1), 0.05, "epoch 0: std %g, expected %g", got0, expect0);
    const double expect30 = sqrt(2 * 0.01 * 1e-8), got30 = noise_std(&f, 30);
    cr_expect_lt(fabs(got30 / expect30 - 1), 0.05, "epoch 30: std %g, expected %g", got30,
                 expect30);
    method_fixture_free(&f);

    const char *const eta[] = {"l1=0", "eta=2", NULL};
    setup(&f, 0.5, 6, eta);
    const double expect = sqrt(2 * 2 * 1e-12), got = noise_std(&f, 100);
    cr_expect_lt(fabs(got / expect - 1), 0.05, "eta 2, epoch 100: std %g, expected %g", got,
                 expect);
    method_fixture_free(&f);
}

/* after_backward with gradients g0 (active) / g_in (inactive) must give
 * exactly g0 + l1 * sign(w) on active entries and leave the others alone */
static void expect_exact_l1(struct method_fixture *f, int epoch, float l1)
{
    const float g0 = 0.125f, g_in = 0.375f;
    fill_gradients(f, g0, g_in);
    backward(f, epoch);
    for (int l = 0; l < TENSORS; l++) {
        const struct param *p = tensor(f, l)->param;
        for (size_t i = 0; i < p->count; i++) {
            const float expect = p->mask[i] ? g0 + l1 * (float)sign_of(p->value[i]) : g_in;
            cr_assert_eq(p->grad[i], expect, "epoch %d, %s[%zu] (w %g): grad %.9g, expected "
                                             "%.9g",
                         epoch, p->name, i, (double)p->value[i], (double)p->grad[i],
                         (double)expect);
        }
    }
}

Test(deepr, l1_gradient_is_l1_times_sign_w_in_every_epoch)
{
    const char *const no_noise[] = {"eta=0", NULL};
    struct method_fixture f;
    setup(&f, 0.9, 7, no_noise);
    const struct param *p = tensor(&f, FC2)->param;
    size_t zero = 0;
    while (!p->mask[zero])
        zero++;
    p->value[zero] = 0.0f; /* sign(0) = 0: no L1 gradient, as in PyTorch */
    expect_exact_l1(&f, 0, 1e-5f);
    cr_expect_eq(p->grad[zero], 0.125f);
    method_fixture_free(&f);

    /* from the stop epoch on there is no noise, but the penalty stays */
    setup(&f, 0.9, 8, NULL);
    expect_exact_l1(&f, 190, 1e-5f);
    cr_expect_eq(read_stats(&f).t, 0);
    method_fixture_free(&f);

    const char *const l1[] = {"eta=0", "l1=0.003", NULL};
    setup(&f, 0.9, 9, l1);
    expect_exact_l1(&f, 5, 0.003f);
    method_fixture_free(&f);
}

/* the T column after one after_backward at this epoch */
static double temperature_at(struct method_fixture *f, int epoch)
{
    backward(f, epoch);
    return read_stats(f).t;
}

Test(deepr, temperature_follows_the_paper_schedule)
{
    struct method_fixture f;
    setup(&f, 0.9, 10, NULL);
    static const struct {
        int epoch;
        double t;
    } cifar[] = {{0, 1e-5},    {24, 1e-5},   {25, 1e-8},   {79, 1e-8},  {80, 1e-12},
                 {139, 1e-12}, {140, 1e-15}, {189, 1e-15}, {190, 0},    {250, 0}};
    for (size_t i = 0; i < sizeof cifar / sizeof cifar[0]; i++)
        cr_expect_eq(temperature_at(&f, cifar[i].epoch), cifar[i].t, "epoch %d",
                     cifar[i].epoch);
    method_fixture_free(&f);

    const char *const moved[] = {"t_epoch1=2", "t_epoch2=4", "t_epoch3=6", "stop_epoch=8", NULL};
    setup(&f, 0.9, 10, moved);
    cr_expect_eq(temperature_at(&f, 1), 1e-5);
    cr_expect_eq(temperature_at(&f, 2), 1e-8);
    cr_expect_eq(temperature_at(&f, 5), 1e-12);
    cr_expect_eq(temperature_at(&f, 7), 1e-15);
    cr_expect_eq(temperature_at(&f, 8), 0);
    method_fixture_free(&f);

    /* ResNet-50 switches at 25 / 50 / 75 and stops at 95 */
    struct model_spec spec;
    char err[256];
    cr_assert_eq(model_parse("resnet-50", &spec, err, sizeof err), 0, "%s", err);
    struct method_run run = {.method = &method_deepr};
    for (int i = 0; i < method_deepr.n_options; i++)
        run.option[i] = method_deepr.options[i].default_value;
    cr_assert_eq(method_deepr.configure(&run, &spec), 0);
    static const struct {
        const char *name;
        double value;
    } imagenet[] = {{"t_epoch1", 25}, {"t_epoch2", 50}, {"t_epoch3", 75}, {"stop_epoch", 95},
                    {"eta", 0.01},    {"l1", 1e-5},     {"reference_quirk", 0}};
    for (size_t i = 0; i < sizeof imagenet / sizeof imagenet[0]; i++)
        cr_expect_eq(run.option[method_option_index(&method_deepr, imagenet[i].name)],
                     imagenet[i].value, "%s", imagenet[i].name);
}

Test(deepr, nothing_rewires_from_the_stop_epoch_on)
{
    const char *const stop[] = {"stop_epoch=2", NULL};
    struct method_fixture f;
    setup(&f, 0.9, 11, stop);
    for (int l = 0; l < TENSORS; l++) {
        const struct param *p = tensor(&f, l)->param;
        for (size_t i = 0; i < p->count; i++)
            p->value[i] = -p->value[i]; /* every active weight crosses zero */
    }
    const struct param *fc1 = tensor(&f, FC1)->param;
    uint8_t *mask = malloc(fc1->count);
    memcpy(mask, fc1->mask, fc1->count);
    step(&f, 2, 5000);
    cr_expect_eq(memcmp(mask, fc1->mask, fc1->count), 0);
    struct deepr_stats s = read_stats(&f);
    cr_expect_eq(s.flipped + s.steps, 0);
    step(&f, 1, 4999);
    s = read_stats(&f);
    cr_expect_eq(s.flipped, 26620);
    cr_expect_eq(s.steps, 1);
    free(mask);
    method_fixture_free(&f);
}

/* fraction of the active weights the first step deactivates, weights untouched */
static double first_step_rewired(int quirk, uint64_t seed)
{
    const char *const with[] = {"reference_quirk=1", NULL};
    struct method_fixture f;
    setup(&f, 0.9, seed, quirk ? with : NULL);
    const double active = (double)sparse_store_active(&f.run.store);
    step(&f, 0, 0);
    const double flipped = read_stats(&f).flipped;
    method_fixture_free(&f);
    return flipped / active;
}

Test(deepr, reference_quirk_rewires_about_half_the_weights_at_the_first_step)
{
    /* 26620 fair coins: the fraction has std 0.003 */
    const double quirk = first_step_rewired(1, 12);
    cr_expect(quirk > 0.47 && quirk < 0.53, "reference_quirk rewired %g", quirk);
    cr_expect_eq(first_step_rewired(0, 12), 0.0);
}

Test(deepr, signs_at_init_are_those_of_the_initial_weights)
{
    struct method_fixture f;
    setup(&f, 0.9, 13, NULL);
    for (int l = 0; l < TENSORS; l++) {
        const struct param *p = tensor(&f, l)->param;
        int8_t *signs = stored_signs(&f, l);
        for (size_t i = 0; i < p->count; i++)
            cr_assert_eq(signs[i], p->mask[i] ? sign_of(p->value[i]) : 0, "%s[%zu]", p->name,
                         i);
        free(signs);
    }
    method_fixture_free(&f);
}

Test(deepr, state_round_trip_restores_the_signs)
{
    const char *const quirk[] = {"reference_quirk=1", NULL};
    struct method_fixture a, b;
    setup(&a, 0.9, 14, quirk);
    setup(&b, 0.9, 14, NULL); /* same masks and weights, signs of the weights */
    size_t size_a, size_b;
    int8_t *state_a = saved_state(&a, &size_a);
    cr_assert_eq(method_deepr.state_load(&b.run, state_a, size_a), 0);
    int8_t *state_b = saved_state(&b, &size_b);
    cr_expect_eq(size_b, size_a);
    cr_expect_eq(memcmp(state_a, state_b, size_a), 0);
    /* b now rewires what a rewires: about half */
    step(&a, 0, 0);
    step(&b, 0, 0);
    const double flipped_a = read_stats(&a).flipped, flipped_b = read_stats(&b).flipped;
    cr_expect_eq(flipped_b, flipped_a);
    cr_expect_gt(flipped_a, 10000);
    free(state_b);

    /* what does not fit is refused and leaves the signs alone */
    state_b = saved_state(&b, &size_b);
    cr_expect_eq(method_deepr.state_load(&b.run, state_a, size_a - 1), -1);
    cr_expect_eq(method_deepr.state_load(&b.run, state_a, 8), -1);
    state_a[size_a - 1] = 2;
    cr_expect_eq(method_deepr.state_load(&b.run, state_a, size_a), -1);
    state_a[size_a - 1] = 0;
    state_a[0] ^= 1; /* magic */
    cr_expect_eq(method_deepr.state_load(&b.run, state_a, size_a), -1);
    size_t size_c;
    int8_t *state_c = saved_state(&b, &size_c);
    cr_expect_eq(memcmp(state_b, state_c, size_b), 0);
    free(state_c);

    struct method_fixture wrn;
    method_fixture_setup(&wrn, &method_deepr,
                         (struct method_setup){.model = "wrn-10-1", .c = 3, .h = 32, .w = 32,
                                               .sparsity = 0.9, .seed = 14});
    cr_expect_eq(method_deepr.state_load(&wrn.run, state_b, size_b), -1);
    method_fixture_free(&wrn);
    free(state_a);
    free(state_b);
    method_fixture_free(&a);
    method_fixture_free(&b);
}

Test(deepr, refuses_sparsity_below_one_half)
{
    struct method_fixture f;
    cr_expect_eq(method_fixture_try(&f, &method_deepr,
                                    (struct method_setup){.sparsity = 0.4, .seed = 1}),
                 -1);
    method_fixture_free(&f);
    const char *const bad[] = {"t_epoch1=90", NULL};
    cr_expect_eq(method_fixture_try(&f, &method_deepr,
                                    (struct method_setup){.sparsity = 0.9, .seed = 1,
                                                          .options = bad}),
                 -1);
    method_fixture_free(&f);
}

/* fc1's mask after a few rewiring steps with the given method seed */
static uint8_t *mask_after_rewiring(uint64_t method_seed)
{
    const char *const quirk[] = {"reference_quirk=1", NULL};
    struct method_fixture f;
    setup(&f, 0.9, 15, quirk);
    f.run.stream = rng_stream(method_seed, RNG_METHOD);
    method_deepr.free_state(&f.run); /* signs from the stream under test */
    cr_assert_eq(method_deepr.init(&f.run), 0);
    for (long it = 0; it < 3; it++) {
        backward(&f, 0);
        step(&f, 0, it);
    }
    uint8_t *mask = malloc(235200);
    memcpy(mask, tensor(&f, FC1)->param->mask, 235200);
    method_fixture_free(&f);
    return mask;
}

Test(deepr, the_method_stream_alone_decides_the_masks)
{
    method_fixture_expect_stream_decides_masks(mask_after_rewiring, 235200);
}
