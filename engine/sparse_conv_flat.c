/* The sparse convolution as flat loops over padded planes (sparse_kernels.h).
 *
 * Stride 1: with the input planes of a block of images copied into
 * zero-bordered planes (hp x wp, one image after another), output position
 * (b, oy, ox) sits at index b*hp*wp + oy*wp + ox, and the tap (ky, kx) of an
 * active weight reads the padded input at that index + ky*wp + kx: a flat
 * multiply-add over the whole block per active weight, run tile by tile for
 * all output channels at once (sparse_conv_rows.c). Stride s > 1 splits each
 * padded plane into s*s phase planes (rows and columns of one remainder mod
 * s), in which the tap reads at + (ky/s)*wq + kx/s of phase (ky%s, kx%s): the
 * same flat loop.
 * The columns and rows past the output are computed too and thrown away
 * (at stride 1 neighbouring rows and images share their zero border:
 * (h+p)(w+p) positions for h*w values, 1.27x on 8x8, 1.06x on 32x32); in
 * exchange the loops are long and branch-free.
 * The weight gradient is the dot product of the output-gradient planes (laid
 * out like the output, zero off the valid positions) with the shifted input;
 * the input gradient adds (sparse_conv_rows.c again), per phase, the
 * output-gradient planes shifted the other way (a zero margin above and left
 * of them stands for the outputs a tap does not reach). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "sparse_conv_internal.h"

/* floats of one channel's planes per block of images: 32 KiB. Measured on
 * the quiet machine at 1 thread, sparsity 0.9, three rounds each, against
 * 16 KiB: WRN-28-2's step 0.455-0.464 -> 0.419-0.429 s (its 32x32 layers:
 * 7 images a block instead of 3), WRN-16-1's 0.065-0.067 -> 0.063-0.064 s;
 * 64 KiB made the 32x32 layers' backward slower again (their planes, output
 * gradients and sums outgrow the 1 MiB L2). */
#define BLOCK_FLOATS 8192

struct geometry {
    int s, phases, hq, wq; /* stride, s*s phase planes of hq x wq per image */
    int mr, mc;            /* the output gradient's zero margin: rows, columns */
    int block;             /* images per block */
    size_t pq, slack;      /* hq * wq; floats a flat loop may read past a block */
    size_t acc_stride;     /* block * pq rounded up to whole tiles of sparse_rows_product */
    size_t x_floats, dy_floats, acc_floats, per_thread;
};

static struct geometry geometry_of(const struct conv_shape *s, int tasks)
{
    struct geometry g = {.s = s->stride};
    g.phases = g.s * g.s;
    if (g.s == 1 && s->pad <= s->kernel - 1) {
        /* neighbours share their zero border: a row's pad trailing zeros are
         * the next row's leading ones, an image's trailing zero rows the next
         * image's leading ones (8x8 planes: 9x9 per image instead of 10x10) */
        g.hq = s->in_h + s->pad;
        g.wq = s->in_w + s->pad;
        g.mr = g.mc = s->kernel - 1 - s->pad;
    } else {
        g.hq = (s->in_h + 2 * s->pad + g.s - 1) / g.s;
        g.wq = (s->in_w + 2 * s->pad + g.s - 1) / g.s;
        g.mr = g.mc = (s->kernel - 1) / g.s;
    }
    g.pq = (size_t)g.hq * g.wq;
    /* + a tile: sparse_rows_product runs to the end of its last tile */
    g.slack = (size_t)(g.mr + s->pad + 1) * g.wq + (size_t)g.mc + (size_t)s->kernel + 16 +
              SPARSE_ROWS_TILE;
    const int per_task = (s->batch + tasks - 1) / tasks;
    int block = (int)(BLOCK_FLOATS / ((size_t)g.phases * g.pq));
    block = block < 1 ? 1 : block;
    g.block = block < per_task ? block : per_task;
    /* the input planes first: the input gradient's taps past the output
     * gradient's margin (stride 1, pad > 0) read up to pad rows and columns
     * before its planes, which is the input planes' trailing zeros (their
     * slack, never written). Kept even when the input is read in place:
     * untouched, those pages cost no memory (peak RSS measured the same). */
    g.x_floats = (size_t)s->in_c * g.phases * g.block * g.pq + g.slack;
    g.dy_floats = (size_t)s->out_c * g.block * g.pq + g.slack;
    /* the sums of every output channel (forward) or of every input channel's
     * phases (input gradient) over the block */
    const int acc_rows = s->out_c > s->in_c * g.phases ? s->out_c : s->in_c * g.phases;
    g.acc_stride = (g.block * g.pq + SPARSE_ROWS_TILE - 1) / SPARSE_ROWS_TILE * SPARSE_ROWS_TILE;
    g.acc_floats = (size_t)acc_rows * g.acc_stride;
    g.per_thread = g.x_floats + g.dy_floats + g.acc_floats;
    return g;
}

/* the phase planes ([channel][phase][block image]) of images [n0, n0 + m):
 * only positions inside the input are written, the zero border stays */
static void phase_planes(const struct conv_shape *s, const struct geometry *g, const float *x,
                         int n0, int m, float *xph)
{
    const int h = s->in_h, w = s->in_w, st = g->s, p = s->pad;
    for (int c = 0; c < s->in_c; c++)
        for (int b = 0; b < m; b++) {
            const float *from = x + ((size_t)c * s->batch + n0 + b) * h * w;
            if (st == 1) {
                float *to = xph + ((size_t)c * g->block + b) * g->pq + (size_t)p * g->wq + p;
                for (int y = 0; y < h; y++)
                    memcpy(to + (size_t)y * g->wq, from + (size_t)y * w, sizeof(float) * w);
                continue;
            }
            for (int ph = 0; ph < g->phases; ph++) {
                const int py = ph / st, px = ph % st;
                /* the columns q whose ix = st*q + px - p falls inside the input */
                const int q0 = p > px ? (p - px + st - 1) / st : 0;
                const int q_end = (w - 1 + p - px) / st + 1;
                const int q1 = q_end < g->wq ? q_end : g->wq;
                float *to = xph + (((size_t)c * g->phases + ph) * g->block + b) * g->pq;
                for (int r = 0; r < g->hq; r++) {
                    const int iy = st * r + py - p;
                    if (iy < 0 || iy >= h)
                        continue;
                    for (int q = q0; q < q1; q++)
                        to[(size_t)r * g->wq + q] = from[(size_t)iy * w + st * q + px - p];
                }
            }
        }
}

/* floats between two input channels' planes as the kernels read them: the
 * block's copies, or a bordered input's channels (which must be laid out for
 * this convolution: a mismatch is the caller's bug, caught here) */
static size_t input_channel_floats(const struct conv_shape *s, const struct geometry *g,
                                   const struct bordered_layout *xl)
{
    if (!xl)
        return (size_t)g->phases * g->block * g->pq;
    if (!sparse_conv_flat_reads_bordered(s) || xl->group_stride || xl->pad != s->pad ||
        xl->h != s->in_h || xl->w != s->in_w ||
        xl->channel_stride < (size_t)s->batch * g->pq + g->slack) {
        fprintf(stderr, "dsrbench: a bordered input (%dx%d, pad %d, %zu floats a channel) "
                        "does not fit the convolution (%dx%d, pad %d, %d images)\n",
                xl->h, xl->w, xl->pad, xl->channel_stride, s->in_h, s->in_w, s->pad, s->batch);
        exit(1);
    }
    return xl->channel_stride;
}

/* the planes of images [n0, n0 + m) as the kernels read them: copied into
 * `copy`, or in place when x is bordered (the same layout, a whole batch
 * per channel) */
static const float *input_planes(const struct conv_shape *s, const struct geometry *g,
                                 const float *x, const struct bordered_layout *xl, int n0, int m,
                                 float *copy)
{
    if (xl)
        return x + (size_t)n0 * g->pq;
    phase_planes(s, g, x, n0, m, copy);
    return copy;
}

int sparse_conv_flat_reads_bordered(const struct conv_shape *s)
{
    return s->stride == 1 && s->pad <= s->kernel - 1;
}

int sparse_conv_reads_bordered(const struct conv_shape *s)
{
    return sparse_conv_flat_reads_bordered(s) && !sparse_conv_reads_lanes(s);
}

size_t sparse_conv_bordered_stride(const struct conv_shape *s)
{
    const struct geometry g = geometry_of(s, 1);
    size_t stride = ((size_t)s->batch * g.pq + g.slack + 15) / 16 * 16;
    if (stride % 1024 < 64) /* at most 256 bytes past a multiple of 4 KiB */
        stride += 128;
    return stride;
}

/* the output gradient's planes ([channel][block image]), valid part at
 * rows mr.., columns mc.., zero elsewhere */
static void gradient_planes(const struct conv_shape *s, const struct geometry *g,
                            const float *dy, int n0, int m, float *dyp)
{
    const int oh = s->out_h, ow = s->out_w;
    for (int o = 0; o < s->out_c; o++)
        for (int b = 0; b < m; b++) {
            const float *from = dy + ((size_t)o * s->batch + n0 + b) * oh * ow;
            float *to = dyp + ((size_t)o * g->block + b) * g->pq + (size_t)g->mr * g->wq + g->mc;
            for (int y = 0; y < oh; y++)
                memcpy(to + (size_t)y * g->wq, from + (size_t)y * ow, sizeof(float) * ow);
        }
}

/* out[j] += g . src[j] for the first `count` (1..8) of eight sources at
 * once: g's loads are shared and eight sums run side by side (measured 13%
 * faster than four on this machine's layer sizes). The sums past count are
 * dropped: a caller short of eight weights repeats its last source there
 * (read again from L1). */
static void dot8(size_t n, const float *restrict g, const float *const *src, int count,
                 float *out)
{
    const float *restrict a = src[0], *restrict b = src[1], *restrict c = src[2],
                          *restrict d = src[3], *restrict e = src[4], *restrict f = src[5],
                          *restrict h = src[6], *restrict k = src[7];
    float sa = 0.0f, sb = 0.0f, sc = 0.0f, sd = 0.0f, se = 0.0f, sf = 0.0f, sh = 0.0f,
          sk = 0.0f;
#pragma omp simd reduction(+ : sa, sb, sc, sd, se, sf, sh, sk)
    for (size_t i = 0; i < n; i++) {
        const float v = g[i];
        sa += v * a[i];
        sb += v * b[i];
        sc += v * c[i];
        sd += v * d[i];
        se += v * e[i];
        sf += v * f[i];
        sh += v * h[i];
        sk += v * k[i];
    }
    const float sums[8] = {sa, sb, sc, sd, se, sf, sh, sk};
    for (int j = 0; j < count; j++)
        out[j] += sums[j];
}

/* Per tap: where it reads in the phase planes of a channel (forward, weight
 * gradient), its phase, and the shift of the output gradient it adds to
 * that phase (input gradient). */
struct taps {
    size_t *read, *back;
    int *phase;
};

static struct taps tap_table(const struct conv_shape *s, const struct geometry *g)
{
    const int k = s->kernel, kk = k * k, st = g->s;
    struct taps t = {malloc(sizeof(size_t) * kk), malloc(sizeof(size_t) * kk),
                     malloc(sizeof(int) * kk)};
    if (!t.read || !t.back || !t.phase) {
        fprintf(stderr, "dsrbench: out of memory in the sparse convolution\n");
        exit(1);
    }
    for (int j = 0; j < kk; j++) {
        const int ky = j / k, kx = j % k;
        t.phase[j] = (ky % st) * st + kx % st;
        t.read[j] = (size_t)t.phase[j] * g->block * g->pq + (size_t)(ky / st) * g->wq + kx / st;
        t.back[j] = (size_t)(g->mr - ky / st) * g->wq + (size_t)(g->mc - kx / st);
    }
    return t;
}

static void free_taps(struct taps *t)
{
    free(t->read);
    free(t->back);
    free(t->phase);
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

/* floats of source under one tile that sparse_rows_product may keep in L1:
 * 32 of the 48 KiB here, the rest for the output and the entries. Measured on
 * WRN-28-2 at 0.9 (1 thread, quiet): 32 KiB keeps the 32-channel 32x32
 * layers in one group (24 KiB split them in two: forward 12% slower) and
 * gives the 128-channel 8x8 layers three (forward and backward ~10% faster
 * than one group) */
#define L1_SOURCE_FLOATS 8192

/* groups of source channels whose parts under a tile (`reach` floats past
 * the tile's start per channel) fit in L1_SOURCE_FLOATS together */
static int source_groups(int channels, size_t reach)
{
    const size_t per_channel = SPARSE_ROWS_TILE + reach;
    size_t fit = L1_SOURCE_FLOATS / per_channel;
    fit = fit ? fit : 1;
    return (int)(((size_t)channels + fit - 1) / fit);
}

/* where an entry reads the input planes: its channel's, then its tap's */
struct flat_reach {
    size_t channel;
    const size_t *tap;
};

static size_t flat_offset(const void *ctx, int source, int tap)
{
    const struct flat_reach *r = ctx;
    return (size_t)source * r->channel + r->tap[tap];
}

/* forward: one row per output channel, its active weights reading their
 * input channel's phase planes (channel_floats apart) at their tap, grouped
 * by input channel */
static struct sparse_rows forward_rows(const struct conv_shape *s, const struct sparse_weights *sw,
                                       const float *w, const struct geometry *g,
                                       const struct taps *t, size_t channel_floats)
{
    const size_t reach = (size_t)g->phases * ((size_t)((s->kernel - 1) / g->s) * (g->wq + 1));
    const struct flat_reach r = {channel_floats, t->read};
    return sparse_rows_grouped(s->out_c, sw->row_start, sw->row_in, sw->row_tap, sw->row_pos,
                               s->in_c, source_groups(s->in_c, reach), flat_offset, &r, w);
}

/* input gradient: one row per input channel and phase, the active weights of
 * that channel whose tap falls in that phase, reading their output channel's
 * gradient planes shifted the other way, grouped by output channel */
static struct sparse_rows input_gradient_rows(const struct conv_shape *s,
                                              const struct sparse_weights *sw, const float *w,
                                              const struct geometry *g, const struct taps *t)
{
    const size_t channel_floats = (size_t)g->block * g->pq;
    const int groups = source_groups(s->out_c, (size_t)g->mr * g->wq + g->mc);
    const int per_group = (s->out_c + groups - 1) / groups;
    const int phases = g->phases;
    struct sparse_rows r = sparse_rows_alloc(s->in_c * phases, groups, sw->nnz);
    int32_t j = 0;
    for (int c = 0; c < s->in_c; c++)
        for (int ph = 0; ph < phases; ph++) {
            int32_t e = sw->col_start[c];
            for (int q = 0; q < groups; q++) {
                r.start[(c * phases + ph) * groups + q] = j;
                for (; e < sw->col_start[c + 1] && sw->col_out[e] < (q + 1) * per_group; e++) {
                    const int tap = sw->col_tap[e];
                    if (t->phase[tap] != ph)
                        continue;
                    r.offset[j] = (size_t)sw->col_out[e] * channel_floats + t->back[tap];
                    r.weight[j++] = w[sw->col_pos[e]];
                }
            }
        }
    r.start[s->in_c * phases * groups] = j;
    return r;
}

void sparse_conv_flat_forward(const struct conv_shape *s, struct sparse_weights *sw,
                              const float *x, const struct bordered_layout *x_layout,
                              const float *w, const float *bias, const float *residual,
                              float *y, int threads)
{
    const int tasks = sw->slot_tasks < s->batch ? sw->slot_tasks : s->batch;
    const struct geometry g = geometry_of(s, tasks);
    const int nt = sparse_conv_threads(s, sw, threads);
    float *scratch = thread_scratch(sw, &g, nt);
    struct taps t = tap_table(s, &g);
    const size_t op = (size_t)s->out_h * s->out_w;
    struct sparse_rows rows = forward_rows(s, sw, w, &g, &t, input_channel_floats(s, &g, x_layout));
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int task = 0; task < tasks; task++) {
        float *own = scratch + (size_t)omp_get_thread_num() * g.per_thread;
        float *acc = own + g.x_floats + g.dy_floats;
        int first, count;
        batch_task_images(s->batch, tasks, task, &first, &count);
        for (int n0 = first; n0 < first + count; n0 += g.block) {
            const int m = first + count - n0 < g.block ? first + count - n0 : g.block;
            const size_t span = (size_t)(m - 1) * g.pq + (size_t)s->out_h * g.wq;
            const float *xph = input_planes(s, &g, x, x_layout, n0, m, own);
            sparse_rows_product(&rows, xph, span, acc, g.acc_stride);
            for (int o = 0; o < s->out_c; o++) {
                const float b0 = bias ? bias[o] : 0.0f;
                for (int b = 0; b < m; b++) {
                    const size_t at = ((size_t)o * s->batch + n0 + b) * op;
                    for (int oy = 0; oy < s->out_h; oy++) {
                        const float *a = acc + o * g.acc_stride + b * g.pq + (size_t)oy * g.wq;
                        float *yr = y + at + (size_t)oy * s->out_w;
                        if (residual) {
                            const float *r = residual + at + (size_t)oy * s->out_w;
                            for (int ox = 0; ox < s->out_w; ox++)
                                yr[ox] = a[ox] + b0 + r[ox];
                        } else {
                            for (int ox = 0; ox < s->out_w; ox++)
                                yr[ox] = a[ox] + b0;
                        }
                    }
                }
            }
        }
    }
    sparse_rows_free(&rows);
    free_taps(&t);
}

/* one block's weight gradients, added to the task's slot: entry e reads the
 * input planes at reads->offset[e] (forward_rows) */
static void block_weight_gradient(const struct conv_shape *s, const struct sparse_weights *sw,
                                  const struct sparse_rows *reads, const struct geometry *g,
                                  const float *xph, const float *dyp, size_t span, float *slot)
{
    const size_t valid = (size_t)g->mr * g->wq + g->mc;
    for (int o = 0; o < s->out_c; o++) {
        const float *gy = dyp + (size_t)o * g->block * g->pq + valid;
        const int32_t end = sw->row_start[o + 1];
        for (int32_t e = sw->row_start[o]; e < end; e += 8) {
            const int32_t last = (end - e < 8 ? end : e + 8) - 1;
            const float *src[8];
            for (int j = 0; j < 8; j++)
                src[j] = xph + reads->offset[e + j < last ? e + j : last];
            dot8(span, gy, src, (int)(last - e + 1), slot + e);
        }
    }
}

/* one block's input gradient from the output-gradient planes */
static void block_input_gradient(const struct conv_shape *s, const struct sparse_rows *rows,
                                 const struct geometry *g, const float *dyp, float *acc,
                                 float *dx, enum grad_write dx_write, int n0, int m)
{
    const size_t ip = (size_t)s->in_h * s->in_w;
    const size_t span = (size_t)(m - 1) * g->pq + g->pq;
    const int st = g->s, p = s->pad;
    sparse_rows_product(rows, dyp, span, acc, g->acc_stride);
    for (int c = 0; c < s->in_c; c++) {
        const float *acc_c = acc + (size_t)c * g->phases * g->acc_stride;
        for (int b = 0; b < m; b++) {
            float *plane = dx + ((size_t)c * s->batch + n0 + b) * ip;
            for (int iy = 0; iy < s->in_h; iy++) {
                float *row = plane + (size_t)iy * s->in_w;
                const int py = (iy + p) % st, r = (iy + p) / st;
                if (st == 1) {
                    const float *a = acc_c + b * g->pq + (size_t)r * g->wq + p;
                    if (dx_write == GRAD_SET)
                        memcpy(row, a, sizeof(float) * s->in_w);
                    else
                        for (int ix = 0; ix < s->in_w; ix++)
                            row[ix] += a[ix];
                    continue;
                }
                /* the columns of one phase px: every st-th, from the first ix
                 * with (ix + p) % st == px, at consecutive q */
                for (int px = 0; px < st; px++) {
                    const int ix0 = ((px - p) % st + st) % st;
                    const float *a = acc_c + (size_t)(py * st + px) * g->acc_stride +
                                     b * g->pq + (size_t)r * g->wq + (ix0 + p) / st;
                    if (dx_write == GRAD_SET)
                        for (int ix = ix0, q = 0; ix < s->in_w; ix += st, q++)
                            row[ix] = a[q];
                    else
                        for (int ix = ix0, q = 0; ix < s->in_w; ix += st, q++)
                            row[ix] += a[q];
                }
            }
        }
    }
}

void sparse_conv_flat_backward(const struct conv_shape *s, struct sparse_weights *sw,
                               const float *x, const struct bordered_layout *x_layout,
                               const float *w, const float *dy, float *dx,
                               enum grad_write dx_write, float *dw, float *dr,
                               enum grad_write dr_write, int threads)
{
    const int tasks = sw->slot_tasks < s->batch ? sw->slot_tasks : s->batch;
    const struct geometry g = geometry_of(s, tasks);
    const int nt = sparse_conv_threads(s, sw, threads);
    float *scratch = thread_scratch(sw, &g, nt);
    struct taps t = tap_table(s, &g);
    const size_t nnz = sw->nnz, op = (size_t)s->out_h * s->out_w;
    struct sparse_rows rows = input_gradient_rows(s, sw, w, &g, &t);
    /* the weight gradient reads the input planes where forward does */
    struct sparse_rows reads =
        dw ? forward_rows(s, sw, w, &g, &t, input_channel_floats(s, &g, x_layout))
           : (struct sparse_rows){0};
#pragma omp parallel num_threads(nt)
    {
        float *xph = scratch + (size_t)omp_get_thread_num() * g.per_thread;
        float *dyp = xph + g.x_floats, *acc = dyp + g.dy_floats;
#pragma omp for schedule(dynamic, 1)
        for (int task = 0; task < tasks; task++) {
            int first, count;
            batch_task_images(s->batch, tasks, task, &first, &count);
            float *slot = sw->slots + (size_t)task * nnz;
            if (dw)
                memset(slot, 0, sizeof(float) * nnz);
            for (int n0 = first; n0 < first + count; n0 += g.block) {
                const int m = first + count - n0 < g.block ? first + count - n0 : g.block;
                const size_t span = (size_t)(m - 1) * g.pq + (size_t)s->out_h * g.wq;
                if (dr) /* the fused add's gradient to its other input */
                    pass_rows(s->out_c, (size_t)s->batch * op, (size_t)n0 * op, (size_t)m * op,
                              dy, dr, dr_write);
                gradient_planes(s, &g, dy, n0, m, dyp);
                if (dw)
                    block_weight_gradient(s, sw, &reads, &g,
                                          input_planes(s, &g, x, x_layout, n0, m, xph), dyp,
                                          span, slot);
                if (dx)
                    block_input_gradient(s, &rows, &g, dyp, acc, dx, dx_write, n0, m);
            }
        }
        if (dw)
            sparse_conv_reduce_slots(sw, tasks, dw);
    }
    sparse_rows_free(&reads);
    sparse_rows_free(&rows);
    free_taps(&t);
}
