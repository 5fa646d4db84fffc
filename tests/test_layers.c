/* Every kernel of layers.h: forward against the naive reference kernels,
 * backward against central finite differences of L = sum(y * r), so that
 * dL/dy = r is what backward is fed. Gradient buffers start at GRAD_PREFILL
 * to check that backward adds to them, and every output and gradient buffer
 * has guard bytes. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "layers.h"
#include "naive_kernels.h"
#include "testutil.h"

static struct rng test_stream(void)
{
    return rng_stream(20240601, RNG_METHOD);
}

/* ---- convolution ---- */

struct conv_case {
    struct conv_shape s;
    float *x, *w, *bias, *y, *r, *workspace;
    int threads; /* the workspace's */
};

static size_t conv_in_count(const struct conv_shape *s)
{
    return (size_t)s->in_c * s->batch * s->in_h * s->in_w;
}

static size_t conv_out_count(const struct conv_shape *s)
{
    return (size_t)s->out_c * s->batch * s->out_h * s->out_w;
}

static size_t conv_weight_count(const struct conv_shape *s)
{
    return (size_t)s->out_c * s->in_c * s->kernel * s->kernel;
}

static double conv_loss(void *ctx)
{
    struct conv_case *c = ctx;
    conv_forward(&c->s, c->x, c->w, c->bias, c->y, c->workspace, c->threads);
    return weighted_sum(c->y, c->r, conv_out_count(&c->s));
}

static void check_conv(struct conv_shape s, int with_bias)
{
    cr_assert_eq(conv_shape_resolve(&s), 0, "the test's convolution shape does not resolve");
    struct rng rng = test_stream();
    const size_t nx = conv_in_count(&s), nw = conv_weight_count(&s), ny = conv_out_count(&s);
    struct conv_case c = {.s = s, .threads = omp_get_max_threads()};
    c.x = guarded_random(&rng, nx, "conv x");
    c.w = guarded_random(&rng, nw, "conv w");
    c.bias = with_bias ? guarded_random(&rng, (size_t)s.out_c, "conv bias") : NULL;
    c.r = guarded_random(&rng, ny, "conv r");
    c.y = guarded_floats(ny, "conv y");
    c.workspace = guarded_floats(conv_workspace_floats(&s, c.threads), "conv workspace");

    float *want = guarded_floats(ny, "naive conv y");
    naive_conv_forward(&c.s, c.x, c.w, c.bias, want);
    conv_loss(&c);
    expect_close("conv forward", c.y, want, ny, FORWARD_TOLERANCE);

    float *dx = guarded_gradient(nx, "conv dx"), *dw = guarded_gradient(nw, "conv dw");
    float *dbias = with_bias ? guarded_gradient((size_t)s.out_c, "conv dbias") : NULL;
    conv_backward(&c.s, c.x, c.w, c.r, dx, GRAD_ADD, dw, dbias, c.workspace, c.threads);
    expect_gradient("conv dx", dx, GRAD_PREFILL, c.x, nx, conv_loss, &c);
    expect_gradient("conv dw", dw, GRAD_PREFILL, c.w, nw, conv_loss, &c);
    if (with_bias)
        expect_gradient("conv dbias", dbias, GRAD_PREFILL, c.bias, (size_t)s.out_c, conv_loss,
                        &c);

    GUARDED_FREE_ALL(c.x, c.w, c.bias, c.r, c.y, c.workspace, want, dx, dw, dbias);
}

static struct conv_shape conv_shape(int batch, int in_c, int in_h, int in_w, int out_c,
                                    int kernel, int stride, int pad)
{
    return (struct conv_shape){.batch = batch, .in_c = in_c, .in_h = in_h, .in_w = in_w,
                               .out_c = out_c, .kernel = kernel, .stride = stride, .pad = pad};
}

Test(layers, conv_shape_resolve_follows_pytorch)
{
    struct conv_shape stem = conv_shape(1, 3, 32, 30, 64, 7, 2, 3);
    cr_assert_eq(conv_shape_resolve(&stem), 0);
    cr_expect(stem.out_h == 16 && stem.out_w == 15, "7x7/2 pad 3 on 32x30: got %dx%d",
              stem.out_h, stem.out_w);
    struct conv_shape valid = conv_shape(1, 1, 28, 28, 20, 5, 1, 0);
    cr_assert_eq(conv_shape_resolve(&valid), 0);
    cr_expect(valid.out_h == 24 && valid.out_w == 24, "5x5 on 28x28: got %dx%d", valid.out_h,
              valid.out_w);
    struct conv_shape too_big = conv_shape(1, 1, 4, 4, 1, 5, 1, 0);
    cr_expect_eq(conv_shape_resolve(&too_big), -1, "a 5x5 kernel cannot fit a 4x4 input");
}

Test(layers, conv_1x1_stride1_reads_input_directly)
{
    check_conv(conv_shape(2, 3, 5, 3, 4, 1, 1, 0), 1);
}

Test(layers, conv_1x1_stride2)
{
    check_conv(conv_shape(2, 4, 6, 5, 3, 1, 2, 0), 0);
}

Test(layers, conv_1x1_padded)
{
    check_conv(conv_shape(2, 2, 3, 4, 3, 1, 1, 1), 1);
}

Test(layers, conv_3x3_pad1)
{
    check_conv(conv_shape(3, 2, 6, 5, 3, 3, 1, 1), 1);
}

Test(layers, conv_3x3_stride2_pad1)
{
    check_conv(conv_shape(2, 3, 7, 6, 2, 3, 2, 1), 0);
}

/* the last input row and column are never read: (7 - 3) / 2 and (6 - 3) / 2 leave remainders */
Test(layers, conv_3x3_stride2_unpadded_batch1)
{
    check_conv(conv_shape(1, 2, 7, 6, 3, 3, 2, 0), 1);
}

Test(layers, conv_5x5_valid)
{
    check_conv(conv_shape(2, 2, 8, 9, 3, 5, 1, 0), 1);
}

Test(layers, conv_7x7_stride2_pad3)
{
    check_conv(conv_shape(2, 2, 9, 8, 3, 7, 2, 3), 0);
}

/* The convolution fused with a residual add: y = conv(x) + r, and backward
 * passes dy on to r's gradient (set or added) besides the convolution's own
 * gradients. want_y is conv(x) already; y is scratch. */
static void check_conv_residual(const struct conv_shape *s, const float *x, const float *w,
                                const float *bias, const float *dy, float *y,
                                const float *want_y, float *ws, int threads)
{
    struct rng rng = test_stream();
    const size_t nx = conv_in_count(s), nw = conv_weight_count(s), ny = conv_out_count(s);
    float *r = guarded_random(&rng, ny, "residual"), *want = guarded_floats(ny, "conv + r");
    for (size_t i = 0; i < ny; i++)
        want[i] = want_y[i] + r[i];
    conv_residual_forward(s, x, w, bias, r, y, ws, threads);
    expect_close("conv + residual forward", y, want, ny, FORWARD_TOLERANCE);

    float *dx = guarded_gradient(nx, "dx"), *dw = guarded_gradient(nw, "dw");
    float *plain_dx = guarded_gradient(nx, "plain dx"), *plain_dw = guarded_gradient(nw, "plain dw");
    float *dr = guarded_floats(ny, "dr");
    for (size_t i = 0; i < ny; i++)
        dr[i] = NAN;
    conv_residual_backward(s, x, w, dy, dx, GRAD_ADD, dw, NULL, dr, GRAD_SET, ws, threads);
    conv_backward(s, x, w, dy, plain_dx, GRAD_ADD, plain_dw, NULL, ws, threads);
    expect_close("conv + residual dx", dx, plain_dx, nx, 0.0);
    expect_close("conv + residual dw", dw, plain_dw, nw, 0.0);
    expect_close("conv + residual dr (GRAD_SET)", dr, dy, ny, 0.0);
    conv_residual_backward(s, x, w, dy, NULL, GRAD_ADD, dw, NULL, dr, GRAD_ADD, ws, threads);
    for (size_t i = 0; i < ny; i++)
        want[i] = 2.0f * dy[i];
    expect_close("conv + residual dr (GRAD_ADD)", dr, want, ny, 0.0);
    GUARDED_FREE_ALL(r, want, dx, dw, plain_dx, plain_dw, dr);
}

/* Shapes large enough that the kernels split each task of images into
 * several chunks (a chunk's column matrix is capped near 256 Ki floats), with
 * batches that do not divide evenly into tasks: forward and backward against
 * the naive kernels, no finite differences. */
static void check_conv_chunked(struct conv_shape s, int with_bias)
{
    cr_assert_eq(conv_shape_resolve(&s), 0, "the test's convolution shape does not resolve");
    struct rng rng = test_stream();
    const size_t nx = conv_in_count(&s), nw = conv_weight_count(&s), ny = conv_out_count(&s);
    const int threads = omp_get_max_threads();
    float *x = guarded_random(&rng, nx, "conv x"), *w = guarded_random(&rng, nw, "conv w");
    float *bias = with_bias ? guarded_random(&rng, (size_t)s.out_c, "conv bias") : NULL;
    float *dy = guarded_random(&rng, ny, "conv dy");
    float *y = guarded_floats(ny, "conv y"), *want_y = guarded_floats(ny, "naive conv y");
    float *ws = guarded_floats(conv_workspace_floats(&s, threads), "conv workspace");
    conv_forward(&s, x, w, bias, y, ws, threads);
    naive_conv_forward(&s, x, w, bias, want_y);
    expect_close("chunked conv forward", y, want_y, ny, FORWARD_TOLERANCE);

    float *dx = guarded_gradient(nx, "conv dx"), *dw = guarded_gradient(nw, "conv dw");
    float *want_dx = guarded_gradient(nx, "naive conv dx");
    float *want_dw = guarded_gradient(nw, "naive conv dw");
    float *dbias = with_bias ? guarded_gradient((size_t)s.out_c, "conv dbias") : NULL;
    float *want_dbias = with_bias ? guarded_gradient((size_t)s.out_c, "naive dbias") : NULL;
    conv_backward(&s, x, w, dy, dx, GRAD_ADD, dw, dbias, ws, threads);
    naive_conv_backward(&s, x, w, dy, want_dx, want_dw, want_dbias);
    expect_close("chunked conv dx", dx, want_dx, nx, FORWARD_TOLERANCE);
    /* GRAD_SET stores the contribution over whatever the buffer held */
    float *set_dx = guarded_floats(nx, "conv dx (set)");
    for (size_t i = 0; i < nx; i++)
        set_dx[i] = NAN;
    conv_backward(&s, x, w, dy, set_dx, GRAD_SET, dw, NULL, ws, threads);
    for (size_t i = 0; i < nx; i++)
        want_dx[i] -= GRAD_PREFILL;
    expect_close("chunked conv dx (GRAD_SET)", set_dx, want_dx, nx, FORWARD_TOLERANCE);
    guarded_free(set_dx);
    for (size_t i = 0; i < nw; i++) /* dw got the contribution twice */
        want_dw[i] = 2.0f * want_dw[i] - GRAD_PREFILL;
    expect_close("chunked conv dw", dw, want_dw, nw, FORWARD_TOLERANCE);
    if (with_bias)
        expect_close("chunked conv dbias", dbias, want_dbias, (size_t)s.out_c,
                     FORWARD_TOLERANCE);
    check_conv_residual(&s, x, w, bias, dy, y, want_y, ws, threads);
    GUARDED_FREE_ALL(x, w, bias, dy, y, want_y, ws, dx, dw, want_dx, want_dw, dbias, want_dbias);
}

/* stride 1: the input gradient is a convolution of dy with flipped weights */
Test(layers, conv_3x3_pad1_chunked)
{
    check_conv_chunked(conv_shape(19, 16, 32, 32, 12, 3, 1, 1), 1);
}

Test(layers, conv_5x5_pad2_chunked)
{
    check_conv_chunked(conv_shape(11, 8, 30, 34, 5, 5, 1, 2), 0);
}

/* unpadded: the flipped convolution pads by k - 1 */
Test(layers, conv_3x3_valid_chunked)
{
    check_conv_chunked(conv_shape(10, 24, 33, 31, 7, 3, 1, 0), 1);
}

/* strided: the input gradient goes through col2im */
Test(layers, conv_3x3_stride2_chunked)
{
    check_conv_chunked(conv_shape(17, 16, 63, 64, 9, 3, 2, 1), 0);
}

/* 1x1 stride 1: x and dy are read in place as column matrices */
Test(layers, conv_1x1_direct_many_tasks)
{
    check_conv_chunked(conv_shape(21, 6, 5, 7, 4, 1, 1, 0), 1);
}

/* one image: a single task */
Test(layers, conv_3x3_pad1_batch1_chunked)
{
    check_conv_chunked(conv_shape(1, 16, 32, 32, 8, 3, 1, 1), 0);
}

/* ---- fully connected ---- */

struct linear_case {
    int n, in, out;
    float *x, *w, *bias, *y, *r, *workspace;
};

static double linear_loss(void *ctx)
{
    struct linear_case *c = ctx;
    linear_forward(c->n, c->in, c->out, c->x, c->w, c->bias, c->y, c->workspace);
    return weighted_sum(c->y, c->r, (size_t)c->out * c->n);
}

static void check_linear(int n, int in, int out, int with_bias)
{
    struct rng rng = test_stream();
    const size_t nx = (size_t)in * n, nw = (size_t)out * in, ny = (size_t)out * n;
    struct linear_case c = {.n = n, .in = in, .out = out};
    c.x = guarded_random(&rng, nx, "linear x");
    c.w = guarded_random(&rng, nw, "linear w");
    c.bias = with_bias ? guarded_random(&rng, (size_t)out, "linear bias") : NULL;
    c.r = guarded_random(&rng, ny, "linear r");
    c.y = guarded_floats(ny, "linear y");
    c.workspace = guarded_floats(linear_workspace_floats(in, out), "linear workspace");

    float *want = guarded_floats(ny, "naive linear y");
    naive_linear_forward(n, in, out, c.x, c.w, c.bias, want);
    linear_loss(&c);
    expect_close("linear forward", c.y, want, ny, FORWARD_TOLERANCE);

    float *dx = guarded_gradient(nx, "linear dx"), *dw = guarded_gradient(nw, "linear dw");
    float *dbias = with_bias ? guarded_gradient((size_t)out, "linear dbias") : NULL;
    linear_backward(n, in, out, c.x, c.w, c.r, dx, GRAD_ADD, dw, dbias, c.workspace);
    expect_gradient("linear dx", dx, GRAD_PREFILL, c.x, nx, linear_loss, &c);
    expect_gradient("linear dw", dw, GRAD_PREFILL, c.w, nw, linear_loss, &c);
    if (with_bias)
        expect_gradient("linear dbias", dbias, GRAD_PREFILL, c.bias, (size_t)out, linear_loss,
                        &c);

    GUARDED_FREE_ALL(c.x, c.w, c.bias, c.r, c.y, c.workspace, want, dx, dw, dbias);
}

Test(layers, linear_with_bias)
{
    check_linear(3, 7, 5, 1);
}

Test(layers, linear_without_bias)
{
    check_linear(4, 5, 6, 0);
}

/* LeNet-300-100's widest layer at a batch that splits into blocks (past
 * parallel.h's size), against double loops; dx stored over NaN (GRAD_SET) */
Test(layers, linear_blocked_against_loops)
{
    const int n = 150, in = 784, out = 300;
    struct rng rng = test_stream();
    const size_t nx = (size_t)in * n, nw = (size_t)out * in, ny = (size_t)out * n;
    float *x = guarded_random(&rng, nx, "x"), *w = guarded_random(&rng, nw, "w");
    float *bias = guarded_random(&rng, (size_t)out, "bias"), *dy = guarded_random(&rng, ny, "dy");
    float *y = guarded_floats(ny, "y"), *want_y = guarded_floats(ny, "naive y");
    float *ws = guarded_floats(linear_workspace_floats(in, out), "workspace");
    linear_forward(n, in, out, x, w, bias, y, ws);
    naive_linear_forward(n, in, out, x, w, bias, want_y);
    expect_close("blocked linear forward", y, want_y, ny, FORWARD_TOLERANCE);

    float *dx = guarded_floats(nx, "dx"), *want_dx = guarded_floats(nx, "naive dx");
    float *dw = guarded_gradient(nw, "dw"), *want_dw = guarded_floats(nw, "naive dw");
    float *dbias = guarded_gradient((size_t)out, "dbias");
    for (size_t i = 0; i < nx; i++)
        dx[i] = NAN;
    linear_backward(n, in, out, x, w, dy, dx, GRAD_SET, dw, dbias, ws);
    for (int i = 0; i < in; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int o = 0; o < out; o++)
                acc += (double)w[(size_t)o * in + i] * dy[(size_t)o * n + j];
            want_dx[(size_t)i * n + j] = (float)acc;
        }
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++) {
            double acc = GRAD_PREFILL;
            for (int j = 0; j < n; j++)
                acc += (double)dy[(size_t)o * n + j] * x[(size_t)i * n + j];
            want_dw[(size_t)o * in + i] = (float)acc;
        }
    expect_close("blocked linear dx", dx, want_dx, nx, FORWARD_TOLERANCE);
    expect_close("blocked linear dw", dw, want_dw, nw, FORWARD_TOLERANCE);
    GUARDED_FREE_ALL(x, w, bias, dy, y, want_y, ws, dx, want_dx, dw, want_dw, dbias);
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
                            BN_EPS);
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

Test(layers, batchnorm_eval_uses_running_stats)
{
    struct rng rng = test_stream();
    struct bn_case c = bn_case_new(&rng, 4, 2 * 5);
    const size_t n = (size_t)c.channels * c.m;
    float *want = guarded_floats(n, "naive bn eval y");
    naive_batchnorm_forward_eval(c.channels, c.m, c.x, c.gamma, c.beta, c.running_mean,
                                 c.running_var, BN_EPS, want);
    batchnorm_forward_eval(c.channels, c.m, c.x, c.gamma, c.beta, c.running_mean, c.running_var,
                           BN_EPS, c.y);
    expect_close("batchnorm eval y", c.y, want, n, FORWARD_TOLERANCE);
    guarded_free(want);
    bn_case_free(&c);
}

/* ---- batch norm with a fused ReLU ---- */

static void relu_in_place(float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}

static double bn_relu_train_loss(void *ctx)
{
    struct bn_case *c = ctx;
    batchnorm_relu_forward_train(c->channels, c->m, c->x, c->gamma, c->beta, c->y,
                                 c->saved_mean, c->saved_invstd, c->running_mean, c->running_var,
                                 BN_MOMENTUM, BN_EPS);
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

Test(layers, batchnorm_relu_eval)
{
    struct rng rng = test_stream();
    struct bn_case c = bn_case_new(&rng, 4, 2 * 5);
    const size_t n = (size_t)c.channels * c.m;
    float *want = guarded_floats(n, "naive bn eval y");
    naive_batchnorm_forward_eval(c.channels, c.m, c.x, c.gamma, c.beta, c.running_mean,
                                 c.running_var, BN_EPS, want);
    relu_in_place(want, n);
    batchnorm_relu_forward_eval(c.channels, c.m, c.x, c.gamma, c.beta, c.running_mean,
                                c.running_var, BN_EPS, c.y);
    expect_close("batchnorm+relu eval y", c.y, want, n, FORWARD_TOLERANCE);
    guarded_free(want);
    bn_case_free(&c);
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

/* ---- layers without parameters, from one input to one output ---- */

struct unary_layer {
    const char *name;
    size_t in_count, out_count;
    int kinks;              /* piecewise linear: test it on kink-free inputs */
    struct pool_shape pool; /* pooling */
    int c, n, hw;           /* global average pooling and flatten */
    int32_t *argmax;        /* max pooling's record from forward to backward */
    void (*forward)(const struct unary_layer *l, const float *x, float *y);
    void (*naive)(const struct unary_layer *l, const float *x, float *y);
    void (*backward)(const struct unary_layer *l, const float *y, const float *dy, float *dx);
};

struct unary_case {
    const struct unary_layer *layer;
    float *x, *y, *r;
};

static double unary_loss(void *ctx)
{
    struct unary_case *c = ctx;
    c->layer->forward(c->layer, c->x, c->y);
    return weighted_sum(c->y, c->r, c->layer->out_count);
}

static void check_unary(const struct unary_layer *l)
{
    struct rng rng = test_stream();
    struct unary_case c = {.layer = l};
    c.x = guarded_floats(l->in_count, l->name);
    if (l->kinks)
        fill_distinct(&rng, c.x, l->in_count, KINK_SPACING);
    else
        fill_uniform(&rng, c.x, l->in_count, -1.0f, 1.0f);
    c.r = guarded_random(&rng, l->out_count, "r");
    c.y = guarded_floats(l->out_count, "y");
    float *want = guarded_floats(l->out_count, "naive y");
    l->naive(l, c.x, want);
    unary_loss(&c);
    char what[64];
    snprintf(what, sizeof what, "%s forward", l->name);
    expect_close(what, c.y, want, l->out_count, FORWARD_TOLERANCE);

    float *dx = guarded_gradient(l->in_count, "dx");
    l->backward(l, c.y, c.r, dx);
    snprintf(what, sizeof what, "%s dx", l->name);
    expect_gradient(what, dx, GRAD_PREFILL, c.x, l->in_count, unary_loss, &c);
    GUARDED_FREE_ALL(c.x, c.r, c.y, want, dx);
}

static void relu_fast(const struct unary_layer *l, const float *x, float *y)
{
    relu_forward(l->in_count, x, y);
}

static void relu_naive(const struct unary_layer *l, const float *x, float *y)
{
    naive_relu_forward(l->in_count, x, y);
}

static void relu_grad(const struct unary_layer *l, const float *y, const float *dy, float *dx)
{
    relu_backward(l->in_count, y, dy, dx);
}

Test(layers, relu)
{
    const struct unary_layer l = {.name = "relu", .in_count = 3 * 2 * 10, .out_count = 3 * 2 * 10,
                                  .kinks = 1, .forward = relu_fast, .naive = relu_naive,
                                  .backward = relu_grad};
    check_unary(&l);
}

static void maxpool_fast(const struct unary_layer *l, const float *x, float *y)
{
    maxpool_forward(&l->pool, x, y, l->argmax);
}

static void maxpool_naive(const struct unary_layer *l, const float *x, float *y)
{
    naive_maxpool_forward(&l->pool, x, y);
}

static void maxpool_grad(const struct unary_layer *l, const float *y, const float *dy, float *dx)
{
    (void)y;
    maxpool_backward(&l->pool, l->argmax, dy, dx);
}

static void avgpool_fast(const struct unary_layer *l, const float *x, float *y)
{
    avgpool_forward(&l->pool, x, y);
}

static void avgpool_naive(const struct unary_layer *l, const float *x, float *y)
{
    naive_avgpool_forward(&l->pool, x, y);
}

static void avgpool_grad(const struct unary_layer *l, const float *y, const float *dy, float *dx)
{
    (void)y;
    avgpool_backward(&l->pool, dy, dx);
}

static void check_pool(int max, int planes, int in_h, int in_w, int kernel, int stride, int pad)
{
    struct unary_layer l = {.name = max ? "maxpool" : "avgpool", .kinks = max,
                            .forward = max ? maxpool_fast : avgpool_fast,
                            .naive = max ? maxpool_naive : avgpool_naive,
                            .backward = max ? maxpool_grad : avgpool_grad};
    l.pool = (struct pool_shape){.planes = planes, .in_h = in_h, .in_w = in_w, .kernel = kernel,
                                 .stride = stride, .pad = pad};
    cr_assert_eq(pool_shape_resolve(&l.pool), 0, "the test's pool shape does not resolve");
    l.in_count = (size_t)planes * in_h * in_w;
    l.out_count = (size_t)planes * l.pool.out_h * l.pool.out_w;
    if (max)
        l.argmax = guarded_alloc(sizeof(int32_t) * l.out_count, "maxpool argmax");
    check_unary(&l);
    guarded_free(l.argmax);
}

Test(layers, pool_shape_resolve_follows_pytorch)
{
    struct pool_shape stem = {.planes = 1, .in_h = 16, .in_w = 15, .kernel = 3, .stride = 2,
                              .pad = 1};
    cr_assert_eq(pool_shape_resolve(&stem), 0);
    cr_expect(stem.out_h == 8 && stem.out_w == 8, "3x3/2 pad 1 on 16x15: got %dx%d", stem.out_h,
              stem.out_w);
    struct pool_shape wide_pad = {.planes = 1, .in_h = 8, .in_w = 8, .kernel = 3, .stride = 1,
                                  .pad = 2};
    cr_expect_eq(pool_shape_resolve(&wide_pad), -1, "padding over half the kernel is refused");
}

/* padding, and windows that overlap because the stride is below the kernel */
Test(layers, maxpool_3x3_stride2_pad1)
{
    check_pool(1, 2 * 2, 7, 6, 3, 2, 1);
}

/* the last row of the 5-row input is never read */
Test(layers, maxpool_2x2_stride2)
{
    check_pool(1, 3, 5, 4, 2, 2, 0);
}

Test(layers, avgpool_3x3_stride2_overlapping)
{
    check_pool(0, 2 * 2, 7, 6, 3, 2, 0);
}

Test(layers, avgpool_2x2_stride2)
{
    check_pool(0, 3, 5, 4, 2, 2, 0);
}

static void global_avgpool_fast(const struct unary_layer *l, const float *x, float *y)
{
    global_avgpool_forward(l->out_count, l->hw, x, y);
}

static void global_avgpool_naive(const struct unary_layer *l, const float *x, float *y)
{
    naive_global_avgpool_forward(l->out_count, l->hw, x, y);
}

static void global_avgpool_grad(const struct unary_layer *l, const float *y, const float *dy,
                                float *dx)
{
    (void)y;
    global_avgpool_backward(l->out_count, l->hw, dy, dx);
}

Test(layers, global_avgpool)
{
    const int planes = 3 * 2, hw = 5 * 4;
    const struct unary_layer l = {.name = "global avgpool", .in_count = (size_t)planes * hw,
                                  .out_count = (size_t)planes, .hw = hw,
                                  .forward = global_avgpool_fast, .naive = global_avgpool_naive,
                                  .backward = global_avgpool_grad};
    check_unary(&l);
}

static void flatten_fast(const struct unary_layer *l, const float *x, float *y)
{
    flatten_forward(l->c, l->n, l->hw, x, y);
}

static void flatten_naive(const struct unary_layer *l, const float *x, float *y)
{
    naive_flatten_forward(l->c, l->n, l->hw, x, y);
}

static void flatten_grad(const struct unary_layer *l, const float *y, const float *dy, float *dx)
{
    (void)y;
    flatten_backward(l->c, l->n, l->hw, dy, dx);
}

Test(layers, flatten)
{
    const int c = 3, n = 2, hw = 4 * 5; /* two strips of 8 positions and a part */
    const struct unary_layer l = {.name = "flatten", .in_count = (size_t)c * n * hw,
                                  .out_count = (size_t)c * n * hw, .c = c, .n = n, .hw = hw,
                                  .forward = flatten_fast, .naive = flatten_naive,
                                  .backward = flatten_grad};
    check_unary(&l);
}

/* one literal case, so the layout is pinned down independently of the naive kernel */
Test(layers, flatten_gives_pytorch_feature_order)
{
    /* c = 2, n = 2, hw = 2: x[c][n][i] = 100 c + 10 n + i */
    const float x[8] = {0, 1, 10, 11, 100, 101, 110, 111};
    /* row c * hw + i holds feature (c, i) for images 0 and 1 */
    const float want[8] = {0, 10, 1, 11, 100, 110, 101, 111};
    float y[8];
    flatten_forward(2, 2, 2, x, y);
    expect_close("flatten layout", y, want, 8, 0.0);
}

/* ---- residual add ---- */

struct add_case {
    size_t count;
    float *a, *b, *y, *r;
};

static double add_loss(void *ctx)
{
    struct add_case *c = ctx;
    add_forward(c->count, c->a, c->b, c->y);
    return weighted_sum(c->y, c->r, c->count);
}

Test(layers, add)
{
    struct rng rng = test_stream();
    struct add_case c = {.count = 2 * 3 * 5};
    c.a = guarded_random(&rng, c.count, "add a");
    c.b = guarded_random(&rng, c.count, "add b");
    c.r = guarded_random(&rng, c.count, "add r");
    c.y = guarded_floats(c.count, "add y");
    float *want = guarded_floats(c.count, "naive add y");
    naive_add_forward(c.count, c.a, c.b, want);
    add_loss(&c);
    expect_close("add forward", c.y, want, c.count, FORWARD_TOLERANCE);

    float *da = guarded_gradient(c.count, "add da"), *db = guarded_gradient(c.count, "add db");
    add_backward(c.count, c.r, da, GRAD_ADD, db, GRAD_ADD);
    float *set_a = guarded_floats(c.count, "add da (set)"), *set_b = guarded_floats(c.count, "add db (set)");
    for (size_t i = 0; i < c.count; i++)
        set_a[i] = set_b[i] = NAN;
    add_backward(c.count, c.r, set_a, GRAD_SET, set_b, GRAD_SET);
    expect_close("add da (GRAD_SET)", set_a, c.r, c.count, 0.0);
    expect_close("add db (GRAD_SET)", set_b, c.r, c.count, 0.0);
    /* the same buffer as both inputs: set, then add */
    add_backward(c.count, c.r, set_a, GRAD_SET, set_a, GRAD_ADD);
    for (size_t i = 0; i < c.count; i++)
        set_b[i] = 2.0f * c.r[i];
    expect_close("add of x + x (GRAD_SET then GRAD_ADD)", set_a, set_b, c.count, 0.0);
    GUARDED_FREE_ALL(set_a, set_b);
    expect_gradient("add da", da, GRAD_PREFILL, c.a, c.count, add_loss, &c);
    expect_gradient("add db", db, GRAD_PREFILL, c.b, c.count, add_loss, &c);
    GUARDED_FREE_ALL(c.a, c.b, c.r, c.y, want, da, db);
}

/* ---- softmax cross-entropy ---- */

struct softmax_case {
    int n, classes;
    float *logits;
    const int32_t *labels;
};

static double softmax_loss(void *ctx)
{
    struct softmax_case *c = ctx;
    return softmax_cross_entropy(c->n, c->classes, c->logits, c->labels, NULL, NULL);
}

Test(layers, softmax_cross_entropy_loss_and_gradient)
{
    struct rng rng = test_stream();
    const int32_t labels[4] = {2, 0, 4, 4};
    struct softmax_case c = {.n = 4, .classes = 5, .labels = labels};
    const size_t count = (size_t)c.n * c.classes;
    c.logits = guarded_floats(count, "logits");
    fill_uniform(&rng, c.logits, count, -2.0f, 2.0f);
    int correct = -1, want_correct = -2;
    const double want = naive_softmax_cross_entropy(c.n, c.classes, c.logits, labels,
                                                    &want_correct);
    /* dlogits is overwritten, not accumulated: the prefill must be gone */
    float *dlogits = guarded_gradient(count, "dlogits");
    const double loss = softmax_cross_entropy(c.n, c.classes, c.logits, labels, dlogits, &correct);
    cr_expect(fabs(loss - want) <= 1e-6 * want, "mean loss %.9g, want %.9g", loss, want);
    cr_expect_eq(correct, want_correct, "correct %d, want %d", correct, want_correct);
    expect_gradient("softmax dlogits (of the mean loss)", dlogits, 0.0f, c.logits, count,
                    softmax_loss, &c);
    guarded_free(dlogits);
    guarded_free(c.logits);
}

Test(layers, softmax_cross_entropy_counts_correct_predictions)
{
    /* [classes x n] = [3 x 4]; the arg-max classes are 0, 1, 2, 1 */
    const float logits[12] = {5, 0, 0, 0, /* class 0 */
                              0, 5, 0, 5, /* class 1 */
                              0, 0, 5, 0 /* class 2 */};
    const int32_t labels[4] = {0, 2, 2, 0};
    int correct = -1;
    softmax_cross_entropy(4, 3, logits, labels, NULL, &correct);
    cr_expect_eq(correct, 2, "samples 0 and 2 are right, got %d correct", correct);
}

/* a float exp of logits near 1000 overflows; the kernel must shift by the max */
Test(layers, softmax_cross_entropy_survives_large_logits)
{
    struct rng rng = test_stream();
    const int n = 3, classes = 4;
    const int32_t labels[3] = {1, 3, 0};
    float shifted[12], unshifted[12];
    for (int i = 0; i < n * classes; i++) {
        shifted[i] = 1000.0f + (2.0f * rng_uniform(&rng) - 1.0f);
        unshifted[i] = shifted[i] - 1000.0f; /* exact: the operands are within a factor 2 */
    }
    int correct, want_correct;
    const double want = naive_softmax_cross_entropy(n, classes, unshifted, labels, &want_correct);
    const double loss = softmax_cross_entropy(n, classes, shifted, labels, NULL, &correct);
    cr_expect(fabs(loss - want) <= 1e-6 * want, "mean loss %.9g, want %.9g", loss, want);
    cr_expect_eq(correct, want_correct);
}
