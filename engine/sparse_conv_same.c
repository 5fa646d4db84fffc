/* The sparse convolution for stride 1 and "same" padding (kernel = 2 pad + 1,
 * every 3x3 of the WRNs and every 1x1 stride 1): with the inputs copied into
 * zero-bordered planes (pad rows and columns around each image, a block of
 * images one after another), every tap of every active weight is one flat
 * multiply-add over the whole block: output position (b, oy, ox) sits at
 * b*hp*wp + oy*wp + ox, and the tap (ky, kx) reads the padded input at that
 * index + ky*wp + kx. The border columns and rows are computed too and thrown
 * away (a plane of (h+2p)(w+2p) for h*w values: 1.56x on 8x8, 1.13x on
 * 32x32), and in exchange the loops are long and branch-free, and four active
 * weights share each pass over the output block. The input gradient is the
 * same with the output gradient in padded planes and the taps flipped, and
 * the weight gradient the dot product of the padded output-gradient planes
 * (zero off the valid positions) with the shifted padded input. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparse_conv_internal.h"

/* floats of one output channel's block we aim for: 16 KiB, half an L1 */
#define BLOCK_FLOATS 4096
/* floats past a block a flat loop may read: kernel - 2 */
#define SLACK 128

int sparse_conv_same_applies(const struct conv_shape *s)
{
    return s->stride == 1 && s->kernel == 2 * s->pad + 1 && s->kernel - 2 < SLACK;
}

struct geometry {
    int hp, wp, block; /* padded plane; images per block */
    size_t pp;         /* hp * wp */
    size_t x_floats, dy_floats, acc_floats, per_thread;
};

static struct geometry geometry_of(const struct conv_shape *s, int tasks)
{
    struct geometry g;
    g.hp = s->in_h + 2 * s->pad;
    g.wp = s->in_w + 2 * s->pad;
    g.pp = (size_t)g.hp * g.wp;
    const int per_task = (s->batch + tasks - 1) / tasks;
    int block = (int)(BLOCK_FLOATS / g.pp);
    block = block < 1 ? 1 : block;
    g.block = block < per_task ? block : per_task;
    g.x_floats = (size_t)s->in_c * g.block * g.pp + SLACK;
    g.dy_floats = (size_t)s->out_c * g.block * g.pp + SLACK;
    g.acc_floats = (size_t)g.block * g.pp + SLACK;
    g.per_thread = g.x_floats + g.dy_floats + g.acc_floats;
    return g;
}

/* planes [n0, n0 + m) of every channel of src (channels x batch x h x w) into
 * the interiors of the padded planes of dst ([channel][block image]) */
static void pad_planes(const struct conv_shape *s, const struct geometry *g, int channels,
                       const float *src, int n0, int m, float *dst)
{
    const int h = s->in_h, w = s->in_w;
    for (int c = 0; c < channels; c++)
        for (int b = 0; b < m; b++) {
            const float *from = src + ((size_t)c * s->batch + n0 + b) * h * w;
            float *to = dst + ((size_t)c * g->block + b) * g->pp + (size_t)s->pad * g->wp + s->pad;
            for (int y = 0; y < h; y++)
                memcpy(to + (size_t)y * g->wp, from + (size_t)y * w, sizeof(float) * w);
        }
}

static void axpy4(size_t n, float *restrict acc, const float *restrict a,
                  const float *restrict b, const float *restrict c, const float *restrict d,
                  const float *w)
{
    const float wa = w[0], wb = w[1], wc = w[2], wd = w[3];
    for (size_t i = 0; i < n; i++)
        acc[i] += wa * a[i] + wb * b[i] + wc * c[i] + wd * d[i];
}

static void axpy1(size_t n, float *restrict acc, const float *restrict a, float w)
{
    for (size_t i = 0; i < n; i++)
        acc[i] += w * a[i];
}

static void dot4(size_t n, const float *restrict g, const float *restrict a,
                 const float *restrict b, const float *restrict c, const float *restrict d,
                 float *out)
{
    float sa = 0.0f, sb = 0.0f, sc = 0.0f, sd = 0.0f;
#pragma omp simd reduction(+ : sa, sb, sc, sd)
    for (size_t i = 0; i < n; i++) {
        const float v = g[i];
        sa += v * a[i];
        sb += v * b[i];
        sc += v * c[i];
        sd += v * d[i];
    }
    out[0] += sa;
    out[1] += sb;
    out[2] += sc;
    out[3] += sd;
}

static float dot1(size_t n, const float *restrict g, const float *restrict a)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++)
        s += g[i] * a[i];
    return s;
}

/* acc[0, n) += sum over entries [e0, e1) of w[pos[e]] * (planes + other[e]
 * blocks + offset[tap[e]])[i]: the entries' channels' shifted padded planes */
static void accumulate(size_t n, float *acc, int32_t e0, int32_t e1, const int32_t *other,
                       const int32_t *tap, const int32_t *pos, const float *w,
                       const float *planes, size_t block_floats, const size_t *offset)
{
    int32_t e = e0;
    for (; e + 4 <= e1; e += 4) {
        const float *src[4];
        float wv[4];
        for (int j = 0; j < 4; j++) {
            src[j] = planes + (size_t)other[e + j] * block_floats + offset[tap[e + j]];
            wv[j] = w[pos[e + j]];
        }
        axpy4(n, acc, src[0], src[1], src[2], src[3], wv);
    }
    for (; e < e1; e++)
        axpy1(n, acc, planes + (size_t)other[e] * block_floats + offset[tap[e]], w[pos[e]]);
}

/* offset[t] of tap t = ky*k + kx in a padded plane; flipped: of tap kk-1-t */
static size_t *tap_offsets(const struct conv_shape *s, const struct geometry *g, int flipped)
{
    const int k = s->kernel, kk = k * k;
    size_t *offset = malloc(sizeof *offset * (size_t)kk);
    if (!offset) {
        fprintf(stderr, "dsrbench: out of memory in the sparse convolution\n");
        exit(1);
    }
    for (int t = 0; t < kk; t++) {
        const int u = flipped ? kk - 1 - t : t;
        offset[t] = (size_t)(u / k) * g->wp + (size_t)(u % k);
    }
    return offset;
}

static float *thread_scratch(struct sparse_weights *sw, const struct geometry *g, int threads)
{
    float *scratch = sparse_weights_scratch(sw, g->per_thread * (size_t)threads, g->block);
    if (!scratch) {
        fprintf(stderr, "dsrbench: out of memory for the sparse convolution's planes\n");
        exit(1);
    }
    return scratch;
}

void sparse_conv_same_forward(const struct conv_shape *s, struct sparse_weights *sw,
                              const float *x, const float *w, const float *bias,
                              const float *residual, float *y, int threads)
{
    const int tasks = sw->slot_tasks < s->batch ? sw->slot_tasks : s->batch;
    const struct geometry g = geometry_of(s, tasks);
    const int nt = sparse_conv_threads(s, sw, threads);
    float *scratch = thread_scratch(sw, &g, nt);
    size_t *offset = tap_offsets(s, &g, 0);
    const size_t op = (size_t)s->out_h * s->out_w, block_floats = (size_t)g.block * g.pp;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int t = 0; t < tasks; t++) {
        float *xpad = scratch + (size_t)omp_get_thread_num() * g.per_thread;
        float *acc = xpad + g.x_floats + g.dy_floats;
        int first, count;
        sparse_conv_task_images(s->batch, tasks, t, &first, &count);
        for (int n0 = first; n0 < first + count; n0 += g.block) {
            const int m = first + count - n0 < g.block ? first + count - n0 : g.block;
            const size_t span = (size_t)(m - 1) * g.pp + (size_t)s->out_h * g.wp;
            pad_planes(s, &g, s->in_c, x, n0, m, xpad);
            for (int o = 0; o < s->out_c; o++) {
                memset(acc, 0, sizeof(float) * span);
                accumulate(span, acc, sw->row_start[o], sw->row_start[o + 1], sw->row_in,
                           sw->row_tap, sw->row_pos, w, xpad, block_floats, offset);
                const float b0 = bias ? bias[o] : 0.0f;
                for (int b = 0; b < m; b++) {
                    const size_t at = ((size_t)o * s->batch + n0 + b) * op;
                    const float *r = residual ? residual + at : NULL;
                    for (int oy = 0; oy < s->out_h; oy++) {
                        const float *a = acc + b * g.pp + (size_t)oy * g.wp;
                        float *yr = y + at + (size_t)oy * s->out_w;
                        if (r)
                            for (int ox = 0; ox < s->out_w; ox++)
                                yr[ox] = a[ox] + b0 + r[(size_t)oy * s->out_w + ox];
                        else
                            for (int ox = 0; ox < s->out_w; ox++)
                                yr[ox] = a[ox] + b0;
                    }
                }
            }
        }
    }
    free(offset);
}

/* one block's weight gradients, added to the task's slot */
static void block_weight_gradient(const struct conv_shape *s, const struct sparse_weights *sw,
                                  const struct geometry *g, const float *xpad,
                                  const float *dypad, size_t span, const size_t *offset,
                                  float *slot)
{
    const size_t block_floats = (size_t)g->block * g->pp;
    const size_t interior = (size_t)s->pad * g->wp + s->pad;
    for (int o = 0; o < s->out_c; o++) {
        const float *gy = dypad + (size_t)o * block_floats + interior;
        int32_t e = sw->row_start[o];
        const int32_t end = sw->row_start[o + 1];
        for (; e + 4 <= end; e += 4) {
            const float *src[4];
            for (int j = 0; j < 4; j++)
                src[j] = xpad + (size_t)sw->row_in[e + j] * block_floats +
                         offset[sw->row_tap[e + j]];
            dot4(span, gy, src[0], src[1], src[2], src[3], slot + e);
        }
        for (; e < end; e++)
            slot[e] += dot1(span, gy,
                            xpad + (size_t)sw->row_in[e] * block_floats + offset[sw->row_tap[e]]);
    }
}

/* one block's input gradient, from the padded output gradient */
static void block_input_gradient(const struct conv_shape *s, const struct sparse_weights *sw,
                                 const struct geometry *g, const float *w, const float *dypad,
                                 const size_t *flipped, float *acc, float *dx,
                                 enum grad_write dx_write, int n0, int m)
{
    const size_t block_floats = (size_t)g->block * g->pp, ip = (size_t)s->in_h * s->in_w;
    const size_t span = (size_t)(m - 1) * g->pp + (size_t)s->in_h * g->wp;
    for (int c = 0; c < s->in_c; c++) {
        memset(acc, 0, sizeof(float) * span);
        accumulate(span, acc, sw->col_start[c], sw->col_start[c + 1], sw->col_out, sw->col_tap,
                   sw->col_pos, w, dypad, block_floats, flipped);
        for (int b = 0; b < m; b++) {
            float *plane = dx + ((size_t)c * s->batch + n0 + b) * ip;
            for (int iy = 0; iy < s->in_h; iy++) {
                const float *a = acc + b * g->pp + (size_t)iy * g->wp;
                float *dr = plane + (size_t)iy * s->in_w;
                if (dx_write == GRAD_SET)
                    memcpy(dr, a, sizeof(float) * s->in_w);
                else
                    for (int ix = 0; ix < s->in_w; ix++)
                        dr[ix] += a[ix];
            }
        }
    }
}

void sparse_conv_same_backward(const struct conv_shape *s, struct sparse_weights *sw,
                               const float *x, const float *w, const float *dy, float *dx,
                               enum grad_write dx_write, float *dw, float *dr,
                               enum grad_write dr_write, int threads)
{
    const int tasks = sw->slot_tasks < s->batch ? sw->slot_tasks : s->batch;
    const struct geometry g = geometry_of(s, tasks);
    const int nt = sparse_conv_threads(s, sw, threads);
    float *scratch = thread_scratch(sw, &g, nt);
    size_t *offset = tap_offsets(s, &g, 0), *flipped = tap_offsets(s, &g, 1);
    const size_t nnz = sw->nnz;
#pragma omp parallel num_threads(nt)
    {
        float *xpad = scratch + (size_t)omp_get_thread_num() * g.per_thread;
        float *dypad = xpad + g.x_floats, *acc = dypad + g.dy_floats;
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < tasks; t++) {
            int first, count;
            sparse_conv_task_images(s->batch, tasks, t, &first, &count);
            float *slot = sw->slots + (size_t)t * nnz;
            if (dw)
                memset(slot, 0, sizeof(float) * nnz);
            for (int n0 = first; n0 < first + count; n0 += g.block) {
                const int m = first + count - n0 < g.block ? first + count - n0 : g.block;
                const size_t span = (size_t)(m - 1) * g.pp + (size_t)s->out_h * g.wp;
                for (int b = 0; dr && b < m; b++)
                    sparse_conv_residual_gradient(s, dy, dr, dr_write, n0 + b);
                pad_planes(s, &g, s->out_c, dy, n0, m, dypad);
                if (dw) {
                    pad_planes(s, &g, s->in_c, x, n0, m, xpad);
                    block_weight_gradient(s, sw, &g, xpad, dypad, span, offset, slot);
                }
                if (dx)
                    block_input_gradient(s, sw, &g, w, dypad, flipped, acc, dx, dx_write, n0,
                                         m);
            }
        }
        if (dw)
            sparse_conv_reduce_slots(sw, tasks, dw);
    }
    free(offset);
    free(flipped);
}
