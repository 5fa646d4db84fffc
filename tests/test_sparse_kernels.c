/* The sparse kernels (sparse_kernels.h) against the dense masked path: for
 * every layer kind, the forward output, the input gradient and the weight
 * gradient at active positions equal the dense kernels' with the inactive
 * weights at zero, within 1e-5 of the largest value (the kernels add the same
 * products in another order); the weight gradient's inactive positions are
 * never written. Masks from all-active down to one active weight, odd sizes,
 * both ways of writing the input gradient. Then whole nets on the sparse
 * path (--kernels sparse): the same logits and gradients, the index rebuilt
 * when a mask changes, weights without a mask kept dense. */
#include <criterion/criterion.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "method_fixture.h"
#include "net_kernels.h"
#include "sparse.h"
#include "sparse_conv_internal.h"
#include "sparse_kernels.h"
#include "testutil.h"

#define KERNEL_TOLERANCE 1e-5
/* a density below any real mask's: exactly one active weight */
#define ONE_ACTIVE 0.0

static struct rng test_stream(void)
{
    return rng_stream(20261129, RNG_METHOD);
}

/* a mask with about density * n active positions (exactly one for
 * ONE_ACTIVE, all for 1), and w zeroed where it is off */
static uint8_t *random_mask(struct rng *r, size_t n, double density, float *w)
{
    uint8_t *mask = calloc(n, 1);
    cr_assert_not_null(mask);
    if (density == ONE_ACTIVE)
        mask[rng_below(r, n)] = 1;
    for (size_t i = 0; i < n && density > ONE_ACTIVE; i++)
        mask[i] = density >= 1.0 || rng_uniform(r) < density;
    for (size_t i = 0; i < n; i++)
        if (!mask[i])
            w[i] = 0.0f;
    return mask;
}

/* dw at active positions (less the prefill) against the dense kernel's;
 * inactive positions still hold the prefill */
static void expect_weight_gradient(const char *what, const float *got, const float *want,
                                   const uint8_t *mask, size_t n)
{
    float *g = malloc(sizeof *g * n), *d = malloc(sizeof *d * n);
    cr_assert(g && d);
    size_t active = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask[i]) {
            g[active] = got[i] - GRAD_PREFILL;
            d[active] = want[i] - GRAD_PREFILL;
            active++;
        } else {
            cr_expect_eq(got[i], GRAD_PREFILL, "%s: inactive position %zu was written (%g)",
                         what, i, (double)got[i]);
        }
    }
    expect_close(what, g, d, active, KERNEL_TOLERANCE);
    free(g);
    free(d);
}

/* a gradient buffer for a kernel that writes it as `write` says: for
 * GRAD_SET it holds garbage the kernel must overwrite */
static float *gradient_buffer(size_t n, enum grad_write write, const char *what)
{
    float *g = guarded_gradient(n, what);
    for (size_t i = 0; write == GRAD_SET && i < n; i++)
        g[i] = 1e3f;
    return g;
}

struct conv_check {
    int bias, residual;
    enum grad_write dx_write;
};

enum family { FLAT, LANES };

/* x in the layout of family f (layers.h) for s, in a zeroed, 64-byte
 * aligned guarded buffer (free *raw): flat at s's bordered stride, or lanes
 * (groups of 16 images, a spare vector between channels, lanes past the
 * batch zero) */
static float *layout_copy(enum family f, const struct conv_shape *s, const float *x,
                          struct bordered_layout *l, float **raw)
{
    if (f == LANES) {
        const size_t group = sparse_conv_lanes_group_stride(s);
        const size_t groups = ((size_t)s->batch + 15) / 16;
        *l = (struct bordered_layout){s->in_h, s->in_w, s->pad, groups * group + 16, group};
    } else {
        *l = (struct bordered_layout){s->in_h, s->in_w, s->pad, sparse_conv_bordered_stride(s),
                                      0};
    }
    float *b = guarded_aligned_floats((size_t)s->in_c * l->channel_stride, "layout x", raw);
    const size_t hw = (size_t)s->in_h * s->in_w;
    for (int c = 0; c < s->in_c; c++)
        for (int n = 0; n < s->batch; n++)
            for (int y = 0; y < s->in_h; y++)
                for (int i = 0; i < s->in_w; i++)
                    b[layout_index(l, c, n, y, i)] =
                        x[(c * (size_t)s->batch + n) * hw + (size_t)y * s->in_w + i];
    return b;
}

/* what a kernel family computed on the test's inputs */
struct conv_results {
    float *y, *dx, *dw, *dr;
};

static void free_results(struct conv_results *r)
{
    GUARDED_FREE_ALL(r->y, r->dx, r->dw, r->dr);
}

/* one kernel family called directly (sparse_conv_internal.h), whichever
 * the entry points would pick for the shape; xl: x's bordered layout or NULL */
static struct conv_results run_family(enum family f, const struct conv_shape *s,
                                      struct sparse_weights *sw, const float *x,
                                      const struct bordered_layout *xl, const float *w,
                                      const float *bias, const float *r, const float *dy,
                                      struct conv_check k)
{
    const int threads = omp_get_max_threads();
    const size_t nx = (size_t)s->in_c * s->batch * s->in_h * s->in_w;
    const size_t ny = (size_t)s->out_c * s->batch * s->out_h * s->out_w;
    const size_t nw = (size_t)s->out_c * s->in_c * s->kernel * s->kernel;
    struct conv_results o = {guarded_floats(ny, "family y"),
                             gradient_buffer(nx, k.dx_write, "family dx"),
                             guarded_gradient(nw, "family dw"),
                             k.residual ? guarded_gradient(ny, "family dr") : NULL};
#if SPARSE_CONV_LANES
    if (f == LANES) {
        sparse_conv_lanes_forward(s, sw, x, xl, w, bias, r, o.y, threads);
        sparse_conv_lanes_backward(s, sw, x, xl, w, dy, o.dx, k.dx_write, o.dw, o.dr, GRAD_ADD,
                                   threads);
        return o;
    }
#endif
    cr_assert_eq(f, FLAT, "the lanes kernels ran on a build without them");
    sparse_conv_flat_forward(s, sw, x, xl, w, bias, r, o.y, threads);
    sparse_conv_flat_backward(s, sw, x, xl, w, dy, o.dx, k.dx_write, o.dw, o.dr, GRAD_ADD,
                              threads);
    return o;
}

/* both kernel families, where they take the shape, against the dense
 * kernels' results; and each reading x in its bordered layout (flat or
 * lanes), in place, gives what it gives on the plain x (the same sums in the
 * same order: bit for bit) */
static void check_families(const struct conv_shape *s, struct sparse_weights *sw,
                           const float *x, const float *w, const float *bias, const float *r,
                           const float *dy, struct conv_check k, const uint8_t *mask,
                           const struct conv_results *dense)
{
    const size_t nx = (size_t)s->in_c * s->batch * s->in_h * s->in_w;
    const size_t ny = (size_t)s->out_c * s->batch * s->out_h * s->out_w;
    const size_t nw = (size_t)s->out_c * s->in_c * s->kernel * s->kernel;
    for (enum family f = FLAT; f <= LANES; f++) {
        if (f == LANES && !sparse_conv_lanes_takes(s))
            continue;
        const char *name = f == LANES ? "lanes kernels" : "flat kernels";
        char what[64];
        struct conv_results o = run_family(f, s, sw, x, NULL, w, bias, r, dy, k);
        snprintf(what, sizeof what, "%s: forward", name);
        expect_close(what, o.y, dense->y, ny, KERNEL_TOLERANCE);
        snprintf(what, sizeof what, "%s: input gradient", name);
        expect_close(what, o.dx, dense->dx, nx, KERNEL_TOLERANCE);
        snprintf(what, sizeof what, "%s: weight gradient", name);
        expect_weight_gradient(what, o.dw, dense->dw, mask, nw);
        snprintf(what, sizeof what, "%s: residual gradient", name);
        if (k.residual)
            expect_close(what, o.dr, dense->dr, ny, KERNEL_TOLERANCE);
        /* reading x in place, in the family's bordered layout: bit for bit */
        if (f == LANES || sparse_conv_flat_reads_bordered(s)) {
            struct bordered_layout l;
            float *raw;
            const float *xb = layout_copy(f, s, x, &l, &raw);
            struct conv_results b = run_family(f, s, sw, xb, &l, w, bias, r, dy, k);
            cr_expect(memcmp(b.y, o.y, sizeof(float) * ny) == 0, "%s: forward on a %s x differs",
                      name, f == LANES ? "lanes" : "bordered");
            cr_expect(memcmp(b.dx, o.dx, sizeof(float) * nx) == 0,
                      "%s: input gradient (bordered x) differs", name);
            cr_expect(memcmp(b.dw, o.dw, sizeof(float) * nw) == 0,
                      "%s: weight gradient (bordered x) differs", name);
            free_results(&b);
            guarded_free(raw);
        }
        free_results(&o);
    }
}

static void check_conv(struct conv_shape s, double density, struct conv_check k)
{
    cr_assert_eq(conv_shape_resolve(&s), 0, "the test's convolution shape does not resolve");
    struct rng rng = test_stream();
    const int threads = omp_get_max_threads();
    const size_t nx = (size_t)s.in_c * s.batch * s.in_h * s.in_w;
    const size_t ny = (size_t)s.out_c * s.batch * s.out_h * s.out_w;
    const size_t nw = (size_t)s.out_c * s.in_c * s.kernel * s.kernel;
    float *x = guarded_random(&rng, nx, "x"), *w = guarded_random(&rng, nw, "w");
    float *bias = k.bias ? guarded_random(&rng, (size_t)s.out_c, "bias") : NULL;
    float *r = k.residual ? guarded_random(&rng, ny, "residual") : NULL;
    float *dy = guarded_random(&rng, ny, "dy");
    uint8_t *mask = random_mask(&rng, nw, density, w);
    float *ws = guarded_floats(conv_workspace_floats(&s, threads), "workspace");
    struct sparse_weights sw = {0};
    cr_assert_eq(sparse_weights_build(&sw, mask, s.out_c, s.in_c, s.kernel * s.kernel,
                                      sparse_conv_slot_tasks(threads), 0),
                 0);

    float *y_dense = guarded_floats(ny, "dense y"), *y_sparse = guarded_floats(ny, "sparse y");
    if (k.residual)
        conv_residual_forward(&s, x, w, bias, r, y_dense, ws, threads);
    else
        conv_forward(&s, x, w, bias, y_dense, ws, threads);
    sparse_conv_forward(&s, &sw, x, NULL, w, bias, r, y_sparse, threads);
    expect_close("forward", y_sparse, y_dense, ny, KERNEL_TOLERANCE);

    float *dx_d = gradient_buffer(nx, k.dx_write, "dense dx");
    float *dx_s = gradient_buffer(nx, k.dx_write, "sparse dx");
    float *dw_d = guarded_gradient(nw, "dense dw"), *dw_s = guarded_gradient(nw, "sparse dw");
    float *db_d = k.bias ? guarded_gradient((size_t)s.out_c, "dense dbias") : NULL;
    float *db_s = k.bias ? guarded_gradient((size_t)s.out_c, "sparse dbias") : NULL;
    float *dr_d = k.residual ? guarded_gradient(ny, "dense dr") : NULL;
    float *dr_s = k.residual ? guarded_gradient(ny, "sparse dr") : NULL;
    if (k.residual)
        conv_residual_backward(&s, x, w, dy, dx_d, k.dx_write, dw_d, db_d, dr_d, GRAD_ADD, ws,
                               threads);
    else
        conv_backward(&s, x, w, dy, dx_d, k.dx_write, dw_d, db_d, ws, threads);
    sparse_conv_backward(&s, &sw, x, NULL, w, dy, dx_s, k.dx_write, dw_s, db_s, dr_s, GRAD_ADD,
                         threads);
    expect_close("input gradient", dx_s, dx_d, nx, KERNEL_TOLERANCE);
    expect_weight_gradient("weight gradient", dw_s, dw_d, mask, nw);
    if (k.bias)
        expect_close("bias gradient", db_s, db_d, (size_t)s.out_c, KERNEL_TOLERANCE);
    if (k.residual)
        expect_close("residual gradient", dr_s, dr_d, ny, KERNEL_TOLERANCE);
    const struct conv_results dense = {y_dense, dx_d, dw_d, dr_d};
    check_families(&s, &sw, x, w, bias, r, dy, k, mask, &dense);

    sparse_weights_free(&sw);
    free(mask);
    GUARDED_FREE_ALL(x, w, bias, r, dy, ws, y_dense, y_sparse, dx_d, dx_s, dw_d, dw_s, db_d,
                     db_s, dr_d, dr_s);
}

static const double densities[] = {1.0, 0.5, 0.1, 0.02, ONE_ACTIVE};
#define N_DENSITIES (sizeof densities / sizeof densities[0])

static void check_conv_all(struct conv_shape s, struct conv_check k)
{
    for (size_t d = 0; d < N_DENSITIES; d++) {
        check_conv(s, densities[d], k);
        k.dx_write = k.dx_write == GRAD_ADD ? GRAD_SET : GRAD_ADD;
        check_conv(s, densities[d], k);
    }
}

Test(sparse_kernels, conv_3x3_stride1_pad1)
{
    check_conv_all((struct conv_shape){.batch = 3, .in_c = 5, .in_h = 7, .in_w = 9, .out_c = 6,
                                       .kernel = 3, .stride = 1, .pad = 1},
                   (struct conv_check){0});
}

Test(sparse_kernels, conv_3x3_stride1_unpadded)
{
    check_conv_all((struct conv_shape){.batch = 2, .in_c = 4, .in_h = 9, .in_w = 6, .out_c = 3,
                                       .kernel = 3, .stride = 1, .pad = 0},
                   (struct conv_check){.bias = 1});
}

Test(sparse_kernels, conv_3x3_stride2_pad1_odd)
{
    check_conv_all((struct conv_shape){.batch = 3, .in_c = 3, .in_h = 9, .in_w = 7, .out_c = 5,
                                       .kernel = 3, .stride = 2, .pad = 1},
                   (struct conv_check){0});
}

Test(sparse_kernels, conv_3x3_stride2_unpadded)
{
    check_conv_all((struct conv_shape){.batch = 1, .in_c = 2, .in_h = 8, .in_w = 11, .out_c = 4,
                                       .kernel = 3, .stride = 2, .pad = 0},
                   (struct conv_check){0});
}

Test(sparse_kernels, conv_1x1)
{
    check_conv_all((struct conv_shape){.batch = 3, .in_c = 7, .in_h = 5, .in_w = 5, .out_c = 4,
                                       .kernel = 1, .stride = 1, .pad = 0},
                   (struct conv_check){0});
}

Test(sparse_kernels, conv_1x1_stride2)
{
    check_conv_all((struct conv_shape){.batch = 2, .in_c = 4, .in_h = 9, .in_w = 7, .out_c = 6,
                                       .kernel = 1, .stride = 2, .pad = 0},
                   (struct conv_check){0});
}

Test(sparse_kernels, conv_5x5_pad2_with_bias)
{
    check_conv_all((struct conv_shape){.batch = 2, .in_c = 3, .in_h = 6, .in_w = 5, .out_c = 4,
                                       .kernel = 5, .stride = 1, .pad = 2},
                   (struct conv_check){.bias = 1});
}

Test(sparse_kernels, conv_fused_residual_add)
{
    check_conv_all((struct conv_shape){.batch = 3, .in_c = 4, .in_h = 8, .in_w = 8, .out_c = 5,
                                       .kernel = 3, .stride = 1, .pad = 1},
                   (struct conv_check){.residual = 1});
    check_conv_all((struct conv_shape){.batch = 2, .in_c = 4, .in_h = 9, .in_w = 9, .out_c = 3,
                                       .kernel = 1, .stride = 2, .pad = 0},
                   (struct conv_check){.residual = 1, .bias = 1});
}

/* large enough that the kernels run on several threads */
Test(sparse_kernels, conv_wide_layer_threaded)
{
    omp_set_num_threads(2);
    check_conv((struct conv_shape){.batch = 20, .in_c = 32, .in_h = 16, .in_w = 16, .out_c = 32,
                                   .kernel = 3, .stride = 1, .pad = 1},
               0.3, (struct conv_check){.residual = 1});
}

/* planes large enough that a task's images take more than one block (32x32:
 * 7 images a block, 8 a task here), the last block partial */
Test(sparse_kernels, conv_several_blocks_per_task)
{
    check_conv_all((struct conv_shape){.batch = 64, .in_c = 2, .in_h = 32, .in_w = 32, .out_c = 3,
                                       .kernel = 3, .stride = 1, .pad = 1},
                   (struct conv_check){.residual = 1, .bias = 1});
}

/* channels enough that the source channels' parts under a tile do not fit
 * in L1 together: the rows are split into several groups (sparse_conv_flat.c
 * source_groups), forward and input gradient, at stride 1 and 2 */
Test(sparse_kernels, conv_many_channels_in_source_groups)
{
    check_conv_all((struct conv_shape){.batch = 4, .in_c = 96, .in_h = 8, .in_w = 8, .out_c = 80,
                                       .kernel = 3, .stride = 1, .pad = 1},
                   (struct conv_check){.residual = 1});
    check_conv_all((struct conv_shape){.batch = 3, .in_c = 64, .in_h = 9, .in_w = 9, .out_c = 72,
                                       .kernel = 3, .stride = 2, .pad = 1},
                   (struct conv_check){.bias = 1});
}

/* the lanes kernels' groups of 16 images (sparse_conv_lanes.c): three, the
 * last of 5 images, on rows of 19 positions (tiles of 8, 8 and 3, transposes
 * of 16 and 3 columns); and more groups than tasks, a task taking two */
Test(sparse_kernels, conv_lanes_image_groups)
{
    check_conv_all((struct conv_shape){.batch = 37, .in_c = 5, .in_h = 6, .in_w = 19, .out_c = 4,
                                       .kernel = 3, .stride = 1, .pad = 1},
                   (struct conv_check){.residual = 1, .bias = 1});
    check_conv((struct conv_shape){.batch = 150, .in_c = 3, .in_h = 4, .in_w = 5, .out_c = 2,
                                   .kernel = 3, .stride = 1, .pad = 0},
               0.5, (struct conv_check){.dx_write = GRAD_ADD});
}

static void check_linear(int n, int in, int out, double density, enum grad_write dx_write)
{
    struct rng rng = test_stream();
    const int threads = omp_get_max_threads();
    const size_t nx = (size_t)in * n, ny = (size_t)out * n, nw = (size_t)out * in;
    float *x = guarded_random(&rng, nx, "x"), *w = guarded_random(&rng, nw, "w");
    float *bias = guarded_random(&rng, (size_t)out, "bias");
    float *dy = guarded_random(&rng, ny, "dy");
    uint8_t *mask = random_mask(&rng, nw, density, w);
    float *ws = guarded_floats(linear_workspace_floats(in, out), "workspace");
    struct sparse_weights sw = {0};
    cr_assert_eq(sparse_weights_build(&sw, mask, out, in, 1, 0, 0), 0);

    float *y_dense = guarded_floats(ny, "dense y"), *y_sparse = guarded_floats(ny, "sparse y");
    linear_forward(n, in, out, x, w, bias, y_dense, ws);
    sparse_linear_forward(n, &sw, x, w, bias, y_sparse, threads);
    expect_close("forward", y_sparse, y_dense, ny, KERNEL_TOLERANCE);

    float *dx_d = gradient_buffer(nx, dx_write, "dense dx");
    float *dx_s = gradient_buffer(nx, dx_write, "sparse dx");
    float *dw_d = guarded_gradient(nw, "dense dw"), *dw_s = guarded_gradient(nw, "sparse dw");
    float *db_d = guarded_gradient((size_t)out, "dense dbias");
    float *db_s = guarded_gradient((size_t)out, "sparse dbias");
    linear_backward(n, in, out, x, w, dy, dx_d, dx_write, dw_d, db_d, ws);
    sparse_linear_backward(n, &sw, x, w, dy, dx_s, dx_write, dw_s, db_s, threads);
    expect_close("input gradient", dx_s, dx_d, nx, KERNEL_TOLERANCE);
    expect_weight_gradient("weight gradient", dw_s, dw_d, mask, nw);
    expect_close("bias gradient", db_s, db_d, (size_t)out, KERNEL_TOLERANCE);

    sparse_weights_free(&sw);
    free(mask);
    GUARDED_FREE_ALL(x, w, bias, dy, ws, y_dense, y_sparse, dx_d, dx_s, dw_d, dw_s, db_d, db_s);
}

Test(sparse_kernels, linear_odd_sizes)
{
    for (size_t d = 0; d < N_DENSITIES; d++) {
        check_linear(11, 37, 23, densities[d], GRAD_ADD);
        check_linear(7, 19, 41, densities[d], GRAD_SET);
    }
}

Test(sparse_kernels, linear_large_threaded)
{
    omp_set_num_threads(2);
    check_linear(100, 784, 300, 0.1, GRAD_SET);
}

/* one index (and its scratch planes) used at several batch sizes, as a net's
 * layer is in training and evaluation: the padded planes' layout changes */
Test(sparse_kernels, conv_index_reused_across_batch_sizes)
{
    struct rng rng = test_stream();
    const int threads = omp_get_max_threads(), batches[] = {3, 11, 2, 11};
    struct conv_shape s = {.in_c = 3, .in_h = 6, .in_w = 6, .out_c = 4, .kernel = 3,
                           .stride = 1, .pad = 1};
    const size_t nw = (size_t)s.out_c * s.in_c * 9;
    float *w = guarded_random(&rng, nw, "w");
    uint8_t *mask = random_mask(&rng, nw, 0.3, w);
    struct sparse_weights sw = {0};
    cr_assert_eq(sparse_weights_build(&sw, mask, s.out_c, s.in_c, 9,
                                      sparse_conv_slot_tasks(threads), 0),
                 0);
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        s.batch = batches[i];
        cr_assert_eq(conv_shape_resolve(&s), 0);
        const size_t nx = (size_t)s.in_c * s.batch * 36, ny = (size_t)s.out_c * s.batch * 36;
        float *x = guarded_random(&rng, nx, "x"), *dy = guarded_random(&rng, ny, "dy");
        float *ws = guarded_floats(conv_workspace_floats(&s, threads), "workspace");
        float *yd = guarded_floats(ny, "dense y"), *ys = guarded_floats(ny, "sparse y");
        float *dxd = guarded_floats(nx, "dense dx"), *dxs = guarded_floats(nx, "sparse dx");
        conv_forward(&s, x, w, NULL, yd, ws, threads);
        sparse_conv_forward(&s, &sw, x, NULL, w, NULL, NULL, ys, threads);
        expect_close("forward", ys, yd, ny, KERNEL_TOLERANCE);
        conv_backward(&s, x, w, dy, dxd, GRAD_SET, NULL, NULL, ws, threads);
        sparse_conv_backward(&s, &sw, x, NULL, w, dy, dxs, GRAD_SET, NULL, NULL, NULL, GRAD_ADD,
                             threads);
        expect_close("input gradient", dxs, dxd, nx, KERNEL_TOLERANCE);
        GUARDED_FREE_ALL(x, dy, ws, yd, ys, dxd, dxs);
    }
    sparse_weights_free(&sw);
    free(mask);
    guarded_free(w);
}

/* padding wider than the kernel's reach: 1x1 with pad 1 (the border planes'
 * layout), 3x3 with pad 2 (the shared-border layout with no margin) */
Test(sparse_kernels, conv_wide_padding)
{
    check_conv_all((struct conv_shape){.batch = 2, .in_c = 3, .in_h = 5, .in_w = 4, .out_c = 4,
                                       .kernel = 1, .stride = 1, .pad = 1},
                   (struct conv_check){0});
    check_conv_all((struct conv_shape){.batch = 3, .in_c = 2, .in_h = 6, .in_w = 7, .out_c = 3,
                                       .kernel = 3, .stride = 1, .pad = 2},
                   (struct conv_check){.bias = 1});
}
