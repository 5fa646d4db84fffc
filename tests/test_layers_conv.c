/* The convolution and fully connected kernels of layers.h: forward against
 * the naive reference kernels, backward against central finite differences
 * of L = sum(y * r), so that dL/dy = r is what backward is fed. Gradient
 * buffers start at GRAD_PREFILL to check that backward adds to them, and
 * every output and gradient buffer has guard bytes. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>

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

