/* The parameterless kernels of layers.h (ReLU, pooling, flatten, residual
 * add, softmax cross-entropy): forward against the naive reference kernels,
 * backward against central finite differences of L = sum(y * r), so that
 * dL/dy = r is what backward is fed. Gradient buffers start at GRAD_PREFILL
 * to check that backward adds to them, and every output and gradient buffer
 * has guard bytes. Convolutions and linear layers: test_layers_conv.c; batch
 * norm: test_batchnorm.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "layers.h"
#include "naive_kernels.h"
#include "testutil.h"

static struct rng test_stream(void)
{
    return rng_stream(20240601, RNG_METHOD);
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
