/* The batch norm kernels of layers.h (with and without the fused ReLU), as
 * test_layers_conv.c checks the convolutions: forward against the naive
 * reference, backward against central finite differences of L = sum(y * r). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"
#include "naive_kernels.h"
#include "testutil.h"

static struct rng test_stream(void)
{
    return rng_stream(20240601, RNG_METHOD);
}

/* ---- batch norm ---- */

#define BN_MOMENTUM 0.1f
#define BN_EPS 1e-5f

struct bn_case {
    int channels;
    size_t m;
    float *x, *gamma, *beta, *y, *r, *saved_mean, *saved_invstd, *running_mean, *running_var;
};

static double bn_train_loss(void *ctx)
{
    struct bn_case *c = ctx;
    batchnorm_forward_train(c->channels, c->m, c->x, c->gamma, c->beta, c->y, c->saved_mean,
                            c->saved_invstd, c->running_mean, c->running_var, BN_MOMENTUM,
                            BN_EPS, NULL);
    return weighted_sum(c->y, c->r, (size_t)c->channels * c->m);
}

/* channels with different means and spreads, and non-trivial affine and running statistics */
static struct bn_case bn_case_new(struct rng *rng, int channels, size_t m)
{
    const size_t nc = (size_t)channels, n = nc * m;
    struct bn_case c = {.channels = channels, .m = m};
    c.x = guarded_floats(n, "bn x");
    for (int ch = 0; ch < channels; ch++)
        fill_uniform(rng, c.x + ch * m, m, -1.0f - ch, 2.0f + 0.5f * ch);
    c.gamma = guarded_floats(nc, "bn gamma");
    fill_uniform(rng, c.gamma, nc, 0.5f, 1.5f);
    c.beta = guarded_random(rng, nc, "bn beta");
    c.r = guarded_random(rng, n, "bn r");
    c.y = guarded_floats(n, "bn y");
    c.saved_mean = guarded_floats(nc, "bn saved_mean");
    c.saved_invstd = guarded_floats(nc, "bn saved_invstd");
    c.running_mean = guarded_random(rng, nc, "bn running_mean");
    c.running_var = guarded_floats(nc, "bn running_var");
    fill_uniform(rng, c.running_var, nc, 0.5f, 2.0f);
    return c;
}

static void bn_case_free(struct bn_case *c)
{
    GUARDED_FREE_ALL(c->x, c->gamma, c->beta, c->r, c->y, c->saved_mean, c->saved_invstd,
                     c->running_mean, c->running_var);
}

/* what the naive kernel computes, in buffers of its own */
struct bn_expected {
    float *y, *saved_mean, *saved_invstd, *running_mean, *running_var;
};

static struct bn_expected bn_expected_train(const struct bn_case *c)
{
    const size_t nc = (size_t)c->channels;
    struct bn_expected e = {
        .y = guarded_floats(nc * c->m, "naive bn y"),
        .saved_mean = guarded_floats(nc, "naive bn saved_mean"),
        .saved_invstd = guarded_floats(nc, "naive bn saved_invstd"),
        .running_mean = guarded_floats(nc, "naive bn running_mean"),
        .running_var = guarded_floats(nc, "naive bn running_var"),
    };
    memcpy(e.running_mean, c->running_mean, sizeof(float) * nc);
    memcpy(e.running_var, c->running_var, sizeof(float) * nc);
    naive_batchnorm_forward_train(c->channels, c->m, c->x, c->gamma, c->beta, BN_MOMENTUM, BN_EPS,
                                  e.y, e.saved_mean, e.saved_invstd, e.running_mean,
                                  e.running_var);
    return e;
}

static void bn_expected_free(struct bn_expected *e)
{
    GUARDED_FREE_ALL(e->y, e->saved_mean, e->saved_invstd, e->running_mean, e->running_var);
}

Test(layers, batchnorm_train_forward_and_running_stats)
{
    struct rng rng = test_stream();
    struct bn_case c = bn_case_new(&rng, 3, 2 * 3 * 4);
    struct bn_expected e = bn_expected_train(&c);
    bn_train_loss(&c);
    const size_t nc = (size_t)c.channels;
    expect_close("batchnorm train y", c.y, e.y, nc * c.m, FORWARD_TOLERANCE);
    expect_close("batchnorm saved_mean", c.saved_mean, e.saved_mean, nc, FORWARD_TOLERANCE);
    expect_close("batchnorm saved_invstd", c.saved_invstd, e.saved_invstd, nc,
                 FORWARD_TOLERANCE);
    expect_close("batchnorm running_mean (momentum 0.1)", c.running_mean, e.running_mean, nc,
                 FORWARD_TOLERANCE);
    expect_close("batchnorm running_var (momentum 0.1, unbiased)", c.running_var,
                 e.running_var, nc, FORWARD_TOLERANCE);
    bn_expected_free(&e);
    bn_case_free(&c);
}

/* A backward run with GRAD_SET into dx (NaN-filled before): the gradient
 * buffers for gamma and beta are scratch. */
typedef void (*backward_set_fn)(const struct bn_case *c, float *dx);

static void bn_backward_set(const struct bn_case *c, float *dx)
{
    float dgamma[16] = {0}, dbeta[16] = {0};
    cr_assert(c->channels <= 16);
    batchnorm_backward(c->channels, c->m, c->x, c->gamma, c->saved_mean, c->saved_invstd, c->r,
                       dx, GRAD_SET, dgamma, dbeta);
}

static void bn_relu_backward_set(const struct bn_case *c, float *dx)
{
    float dgamma[16] = {0}, dbeta[16] = {0};
    cr_assert(c->channels <= 16);
    batchnorm_relu_backward(c->channels, c->m, c->x, c->gamma, c->beta, c->saved_mean,
                            c->saved_invstd, c->r, dx, GRAD_SET, dgamma, dbeta);
}

/* GRAD_SET over a NaN-filled buffer gives what GRAD_ADD added to GRAD_PREFILL */
static void expect_grad_set_matches(const char *what, const float *added, size_t n,
                                    backward_set_fn backward, const struct bn_case *c)
{
    float *set = guarded_floats(n, what), *want = guarded_floats(n, what);
    for (size_t i = 0; i < n; i++) {
        set[i] = NAN;
        want[i] = added[i] - GRAD_PREFILL;
    }
    backward(c, set);
    char label[96];
    snprintf(label, sizeof label, "%s (GRAD_SET)", what);
    expect_close(label, set, want, n, FORWARD_TOLERANCE);
    GUARDED_FREE_ALL(set, want);
}

Test(layers, batchnorm_train_backward)
{
    struct rng rng = test_stream();
    struct bn_case c = bn_case_new(&rng, 3, 2 * 3 * 4);
    const size_t nc = (size_t)c.channels, n = nc * c.m;
    bn_train_loss(&c);
    float *dx = guarded_gradient(n, "bn dx"), *dgamma = guarded_gradient(nc, "bn dgamma");
    float *dbeta = guarded_gradient(nc, "bn dbeta");
    batchnorm_backward(c.channels, c.m, c.x, c.gamma, c.saved_mean, c.saved_invstd, c.r, dx,
                       GRAD_ADD, dgamma, dbeta);
    expect_grad_set_matches("batchnorm dx", dx, n, bn_backward_set, &c);
    /* each finite-difference forward also moves the running statistics; y does not read them */
    expect_gradient("batchnorm dx", dx, GRAD_PREFILL, c.x, n, bn_train_loss, &c);
    expect_gradient("batchnorm dgamma", dgamma, GRAD_PREFILL, c.gamma, nc, bn_train_loss, &c);
    expect_gradient("batchnorm dbeta", dbeta, GRAD_PREFILL, c.beta, nc, bn_train_loss, &c);
    GUARDED_FREE_ALL(dx, dgamma, dbeta);
    bn_case_free(&c);
}

/* the ReLU after a batch norm, for the expected outputs */
static void relu_in_place(float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}

/* eval mode against the naive batch norm with the running statistics, the
 * ReLU after it when relu */
static void check_eval(int relu)
{
    struct rng rng = test_stream();
    struct bn_case c = bn_case_new(&rng, 4, 2 * 5);
    const size_t n = (size_t)c.channels * c.m;
    float *want = guarded_floats(n, "naive bn eval y");
    naive_batchnorm_forward_eval(c.channels, c.m, c.x, c.gamma, c.beta, c.running_mean,
                                 c.running_var, BN_EPS, want);
    if (relu)
        relu_in_place(want, n);
    (relu ? batchnorm_relu_forward_eval : batchnorm_forward_eval)(
        c.channels, c.m, c.x, c.gamma, c.beta, c.running_mean, c.running_var, BN_EPS, c.y, NULL);
    expect_close(relu ? "batchnorm+relu eval y" : "batchnorm eval y", c.y, want, n,
                 FORWARD_TOLERANCE);
    guarded_free(want);
    bn_case_free(&c);
}

Test(layers, batchnorm_eval_uses_running_stats)
{
    check_eval(0);
}

/* ---- batch norm with a fused ReLU ---- */

static double bn_relu_train_loss(void *ctx)
{
    struct bn_case *c = ctx;
    batchnorm_relu_forward_train(c->channels, c->m, c->x, c->gamma, c->beta, c->y,
                                 c->saved_mean, c->saved_invstd, c->running_mean, c->running_var,
                                 BN_MOMENTUM, BN_EPS, NULL);
    return weighted_sum(c->y, c->r, (size_t)c->channels * c->m);
}

/* Channels longer than the kernels' 2048-value summation blocks and not a
 * multiple of their 16 lanes: the fused forward is the naive batch norm
 * followed by the naive ReLU, statistics included. */
Test(layers, batchnorm_relu_train_forward_long_channels)
{
    struct rng rng = test_stream();
    struct bn_case c = bn_case_new(&rng, 3, 2 * 2048 + 37);
    struct bn_expected e = bn_expected_train(&c);
    const size_t nc = (size_t)c.channels, n = nc * c.m;
    relu_in_place(e.y, n);
    bn_relu_train_loss(&c);
    expect_close("batchnorm+relu train y", c.y, e.y, n, FORWARD_TOLERANCE);
    expect_close("batchnorm+relu saved_mean", c.saved_mean, e.saved_mean, nc, FORWARD_TOLERANCE);
    expect_close("batchnorm+relu saved_invstd", c.saved_invstd, e.saved_invstd, nc,
                 FORWARD_TOLERANCE);
    expect_close("batchnorm+relu running_mean", c.running_mean, e.running_mean, nc,
                 FORWARD_TOLERANCE);
    expect_close("batchnorm+relu running_var", c.running_var, e.running_var, nc,
                 FORWARD_TOLERANCE);
    /* the plain batch norm on the same long channels */
    struct bn_case plain = bn_case_new(&rng, 2, 3 * 2048 + 5);
    struct bn_expected pe = bn_expected_train(&plain);
    bn_train_loss(&plain);
    expect_close("batchnorm train y (long channels)", plain.y, pe.y, 2 * plain.m,
                 FORWARD_TOLERANCE);
    bn_expected_free(&pe);
    bn_case_free(&plain);
    bn_expected_free(&e);
    bn_case_free(&c);
}

/* Channels whose mean is large against their spread (300 +- 1): the one-pass
 * moments must not lose the variance to cancellation (sums of x^2 instead of
 * (x - shift)^2 give it wrong in the first digit here) */
Test(layers, batchnorm_train_forward_offset_channels)
{
    struct rng rng = test_stream();
    struct bn_case c = bn_case_new(&rng, 2, 3 * 2048 + 5);
    for (size_t i = 0; i < 2 * c.m; i++)
        c.x[i] += 300.0f;
    struct bn_expected e = bn_expected_train(&c);
    bn_train_loss(&c);
    expect_close("batchnorm saved_invstd (offset channels)", c.saved_invstd, e.saved_invstd, 2,
                 FORWARD_TOLERANCE);
    expect_close("batchnorm running_var (offset channels)", c.running_var, e.running_var, 2,
                 FORWARD_TOLERANCE);
    expect_close("batchnorm train y (offset channels)", c.y, e.y, 2 * c.m, 1e-4);
    bn_expected_free(&e);
    bn_case_free(&c);
}

Test(layers, batchnorm_relu_eval)
{
    check_eval(1);
}

/* Inputs on a grid KINK_SPACING apart, shifted by whole steps per channel,
 * and beta = gamma * mean * invstd, so the ReLU's input gamma * invstd * x is
 * zero at x = 0 and every input lies at least KINK_SPACING / 2 from it: no
 * finite-difference step flips the ReLU. */
Test(layers, batchnorm_relu_train_backward)
{
    struct rng rng = test_stream();
    struct bn_case c = bn_case_new(&rng, 3, 2 * 3 * 4);
    const size_t nc = (size_t)c.channels, n = nc * c.m;
    for (int ch = 0; ch < c.channels; ch++) {
        float *xc = c.x + ch * c.m;
        fill_distinct(&rng, xc, c.m, KINK_SPACING);
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < c.m; i++)
            xc[i] += (float)(3 * ch) * KINK_SPACING;
        for (size_t i = 0; i < c.m; i++)
            sum += xc[i];
        const double mean = sum / (double)c.m;
        for (size_t i = 0; i < c.m; i++)
            sq += (xc[i] - mean) * (xc[i] - mean);
        c.beta[ch] = (float)(c.gamma[ch] * mean / sqrt(sq / (double)c.m + BN_EPS));
    }
    bn_relu_train_loss(&c);
    size_t zeros = 0;
    for (size_t i = 0; i < n; i++)
        zeros += c.y[i] == 0.0f;
    cr_assert(zeros > n / 4 && zeros < 3 * n / 4, "the ReLU should cut about half: %zu of %zu",
              zeros, n);
    float *dx = guarded_gradient(n, "bn dx"), *dgamma = guarded_gradient(nc, "bn dgamma");
    float *dbeta = guarded_gradient(nc, "bn dbeta");
    batchnorm_relu_backward(c.channels, c.m, c.x, c.gamma, c.beta, c.saved_mean, c.saved_invstd,
                            c.r, dx, GRAD_ADD, dgamma, dbeta);
    expect_grad_set_matches("batchnorm+relu dx", dx, n, bn_relu_backward_set, &c);
    expect_gradient("batchnorm+relu dx", dx, GRAD_PREFILL, c.x, n, bn_relu_train_loss, &c);
    expect_gradient("batchnorm+relu dgamma", dgamma, GRAD_PREFILL, c.gamma, nc,
                    bn_relu_train_loss, &c);
    expect_gradient("batchnorm+relu dbeta", dbeta, GRAD_PREFILL, c.beta, nc, bn_relu_train_loss,
                    &c);
    GUARDED_FREE_ALL(dx, dgamma, dbeta);
    bn_case_free(&c);
}

/* The four forwards (train / eval, without / with the ReLU) of `batch`
 * images into layout l: each value of images [0, images) where l keeps it,
 * bit for bit the plain output (zero for images past the batch), and
 * nothing else written (a sentinel elsewhere survives). The buffer is
 * 64-byte aligned, as the lanes layout needs. */
static void check_layout_writes(const struct bordered_layout *l, int channels, int batch,
                                int images)
{
    const size_t m = (size_t)batch * l->h * l->w, total = channels * l->channel_stride;
    struct rng rng = test_stream();
    for (int mode = 0; mode < 4; mode++) {
        struct bn_case c = bn_case_new(&rng, channels, m);
        float *raw;
        float *b = guarded_aligned_floats(total, "bordered y", &raw);
        for (size_t i = 0; i < total; i++)
            b[i] = 7.0f;
        float *mean = guarded_floats(channels, "running mean copy");
        float *var = guarded_floats(channels, "running var copy");
        memcpy(mean, c.running_mean, sizeof(float) * channels);
        memcpy(var, c.running_var, sizeof(float) * channels);
        if (mode < 2) {
            (mode & 1 ? batchnorm_relu_forward_train : batchnorm_forward_train)(
                channels, m, c.x, c.gamma, c.beta, c.y, c.saved_mean, c.saved_invstd,
                c.running_mean, c.running_var, BN_MOMENTUM, BN_EPS, NULL);
            (mode & 1 ? batchnorm_relu_forward_train : batchnorm_forward_train)(
                channels, m, c.x, c.gamma, c.beta, b, c.saved_mean, c.saved_invstd, mean, var,
                BN_MOMENTUM, BN_EPS, l);
        } else {
            (mode & 1 ? batchnorm_relu_forward_eval : batchnorm_forward_eval)(
                channels, m, c.x, c.gamma, c.beta, c.running_mean, c.running_var, BN_EPS, c.y,
                NULL);
            (mode & 1 ? batchnorm_relu_forward_eval : batchnorm_forward_eval)(
                channels, m, c.x, c.gamma, c.beta, c.running_mean, c.running_var, BN_EPS, b, l);
        }
        size_t written = 0;
        for (int ch = 0; ch < channels; ch++)
            for (int n = 0; n < images; n++)
                for (int y = 0; y < l->h; y++)
                    for (int x = 0; x < l->w; x++) {
                        const size_t at = layout_index(l, ch, n, y, x);
                        const float want =
                            n < batch ? c.y[ch * m + ((size_t)n * l->h + y) * l->w + x] : 0.0f;
                        cr_expect(b[at] == want, "mode %d: value (%d, %d, %d, %d) is %g, not %g",
                                  mode, ch, n, y, x, (double)b[at], (double)want);
                        written++;
                    }
        size_t untouched = 0;
        for (size_t i = 0; i < total; i++)
            untouched += b[i] == 7.0f;
        cr_expect_eq(untouched, total - written,
                     "mode %d: %zu positions outside the values were written", mode,
                     total - written - untouched);
        GUARDED_FREE_ALL(raw, mean, var);
        bn_case_free(&c);
    }
}

/* the flat layout: 2 images of 5 x 4 */
Test(layers, batchnorm_writes_the_bordered_layout)
{
    enum { N = 2, H = 5, W = 4, PAD = 1 };
    const size_t pq = (H + PAD) * (W + PAD);
    const struct bordered_layout l = {H, W, PAD, N * pq + 9, 0};
    check_layout_writes(&l, 3, N, N);
}

/* The lanes layout: 19 images make two groups of 16, the second with 3
 * (its other 13 lanes written zero); 5 x 6 planes take two transposes of
 * 16 positions each, across rows. (Without AVX-512 a scalar loop writes
 * the layout.) */
Test(layers, batchnorm_writes_the_lanes_layout)
{
    enum { N = 19, H = 5, W = 6, PAD = 1, LANE = 16 };
    const size_t group = (H + 2 * PAD) * (W + 2 * PAD) * LANE + LANE;
    const size_t groups = (N + LANE - 1) / LANE;
    const struct bordered_layout l = {H, W, PAD, groups * group + 2 * LANE, group};
    check_layout_writes(&l, 3, N, (int)groups * LANE);
}
