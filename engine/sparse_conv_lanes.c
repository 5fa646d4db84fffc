/* The sparse convolution with 16 images side by side in a vector's lanes
 * (sparse_kernels.h), for stride-1 layers on small planes.
 *
 * A group of 16 images is copied (transposed) into planes of positions
 * [channel][row][column][image] with a zero border, so that every tap of an
 * active weight reads whole 64-byte vectors at a whole number of positions'
 * distance: every load is aligned. The flat kernels (sparse_conv_flat.c)
 * read their planes at the tap's shift in floats, and almost every load
 * there straddles two cache lines, which on this machine halves the loads'
 * throughput (an L1 microbenchmark of the multiply-add loop: 143 GFLOP/s
 * aligned, 85 straddling). The price is the transposes in and out, which
 * cost little on small planes and a lot on 32x32 ones, where the 16 images'
 * planes sit a whole number of 4 KiB pages apart (sparse_conv_reads_lanes
 * picks by that measurement). Lanes past the batch's end stay zero. An
 * input that a batch norm writes and only such convolutions read comes in
 * that layout already (layers.h, net_plan.h): they read it in place,
 * forward and weight gradient.
 *
 * Forward: an output tile is up to 8 consecutive positions of one output row
 * (8 vectors), summed over the output channel's active weights in
 * registers, group by group of input channels whose windows under the tile
 * fit in L1. Input gradient: the same over the output gradient's planes
 * (with a margin of k-1-pad), per input channel, the taps mirrored. Weight
 * gradient: per active weight, the dot product of the output gradient's
 * rows with the input planes shifted by the tap, eight weights of an output
 * channel at once sharing the output gradient's loads. Work is split by
 * group of images: task t takes groups t, t + tasks, ... (its weight-gradient
 * slot, parallel.h's determinism). */
#include "sparse_conv_internal.h"

#include "lanes.h"

#if defined(__AVX512F__)
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TILE 8
/* floats of input windows under one tile that a channel group keeps in L1
 * (WRN-28-2's 8x8 stage at 0.9, 1 thread, forward / backward: 8192 27.3 /
 * 58.3 ms, 12288 26.3 / 57.0, 24576 26.8 / 57.5) */
#define L1_WINDOW_FLOATS 12288

int sparse_conv_lanes_takes(const struct conv_shape *s)
{
    return s->stride == 1 && s->pad <= s->kernel - 1;
}

int sparse_conv_reads_lanes(const struct conv_shape *s)
{
    /* measured at sparsity 0.9, batch 100, 1 thread, forward with both
     * transposes against the flat kernels with their copies (a one-layer
     * harness): 8x8 (128 channels) 3.0-3.3 against 4.4-4.7 ms, 16x16 (64)
     * 4.3-4.4 against 4.2-4.5, 32x32 (32) 5.3-6.8 against 4.6-4.9; in
     * WRN-28-2 the 16x16 stage lost on them (forward / backward 32.9-33.3 /
     * 70.9-71.5 -> 38.7-39.2 / 76.8-78.5 ms: the flat kernels read batch
     * norm's output in place there, net_plan.h), and again once batch norm
     * wrote their input in the lanes layout (33.0 / 71.6 -> 35.3 / 72.5) */
    return sparse_conv_lanes_takes(s) && s->out_h * s->out_w <= 100;
}

struct lanes_geometry {
    int groups;                     /* of 16 images */
    int hp, wp;                     /* input planes with their border */
    int margin, ohp, owp;           /* output-gradient planes with their margin */
    size_t x_channel, dy_channel;   /* floats of one channel's planes (one group) */
    size_t x_floats, dy_floats, acc_floats, per_thread;
};

/* output rows a transpose out takes at once: 16 positions' worth */
static int rows_per_pass(int w)
{
    return w < LANES ? LANES / w : 1;
}

/* floats of a channel's planes, not a whole number of 4 KiB pages apart */
static size_t channel_floats(int h, int w)
{
    size_t f = (size_t)h * w * LANES;
    return f % 1024 < 64 ? f + LANES : f;
}

size_t sparse_conv_lanes_group_stride(const struct conv_shape *s)
{
    return channel_floats(s->in_h + 2 * s->pad, s->in_w + 2 * s->pad);
}

static struct lanes_geometry lanes_geometry_of(const struct conv_shape *s)
{
    struct lanes_geometry g = {.groups = (s->batch + LANES - 1) / LANES};
    g.hp = s->in_h + 2 * s->pad;
    g.wp = s->in_w + 2 * s->pad;
    g.margin = s->kernel - 1 - s->pad;
    g.ohp = s->out_h + 2 * g.margin;
    g.owp = s->out_w + 2 * g.margin;
    g.x_channel = sparse_conv_lanes_group_stride(s);
    g.dy_channel = channel_floats(g.ohp, g.owp);
    g.x_floats = (size_t)s->in_c * g.x_channel;
    g.dy_floats = (size_t)s->out_c * g.dy_channel;
    const int in_span = rows_per_pass(s->in_w) * s->in_w;
    const int out_span = rows_per_pass(s->out_w) * s->out_w;
    g.acc_floats = ((size_t)s->in_c * in_span > (size_t)s->out_c * out_span
                        ? (size_t)s->in_c * in_span
                        : (size_t)s->out_c * out_span) *
                   LANES;
    g.per_thread = g.x_floats + g.dy_floats + g.acc_floats;
    return g;
}

/* planes [channels][hp][wp][16] of images n0 .. n0 + lanes - 1 of `from`
 * ([channels][batch][h][w]), at row and column offset `border`; lanes past
 * `lanes` are written zero, the border is left as it is (zero). Each
 * transpose takes 16 consecutive positions of the planes, across rows when
 * they are short (8x8: two rows a transpose instead of one half-empty). */
static void to_lanes(const float *from, int channels, int batch, int h, int w, int n0,
                     int lanes, float *to, size_t to_channel, int wp, int border)
{
    const size_t hw = (size_t)h * w;
    for (int c = 0; c < channels; c++)
        for (size_t p0 = 0; p0 < hw; p0 += LANES) {
            const int count = hw - p0 < LANES ? (int)(hw - p0) : LANES;
            const __mmask16 m = (__mmask16)((1u << count) - 1);
            const float *src = from + ((size_t)c * batch + n0) * hw + p0;
            __m512 r[LANES];
            for (int l = 0; l < LANES; l++)
                r[l] = l < lanes ? _mm512_maskz_loadu_ps(m, src + l * hw) : _mm512_setzero_ps();
            transpose16(r);
            lanes_store_positions(r, count, p0, w, wp, border, to + c * to_channel);
        }
}

/* output rows y0 .. y0 + rows - 1 of every channel, acc[channel][rows * w][16],
 * into `to` ([channels][batch][h][w]) for images n0 .. n0 + lanes - 1: set,
 * or added, plus bias[channel] and the same part of `residual` when given
 * (16 consecutive positions a transpose, across rows as to_lanes) */
static void from_lanes(const float *acc, int channels, int batch, int h, int w, int y0,
                       int rows, int n0, int lanes, const float *bias, const float *residual,
                       float *to, enum grad_write write)
{
    const size_t hw = (size_t)h * w, span = (size_t)rows * w;
    for (int c = 0; c < channels; c++) {
        const __m512 b = _mm512_set1_ps(bias ? bias[c] : 0.0f);
        for (size_t p0 = 0; p0 < span; p0 += LANES) {
            const int count = span - p0 < LANES ? (int)(span - p0) : LANES;
            const __mmask16 m = (__mmask16)((1u << count) - 1);
            __m512 r[LANES];
            for (int q = 0; q < LANES; q++)
                r[q] = _mm512_setzero_ps();
            for (int q = 0; q < count; q++)
                r[q] = _mm512_load_ps(acc + ((size_t)c * span + p0 + q) * LANES);
            transpose16(r);
            const size_t at = ((size_t)c * batch + n0) * hw + (size_t)y0 * w + p0;
            for (int l = 0; l < lanes; l++) {
                __m512 v = _mm512_add_ps(r[l], b);
                if (residual)
                    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, residual + at + l * hw));
                if (write == GRAD_ADD)
                    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, to + at + l * hw));
                _mm512_mask_storeu_ps(to + at + l * hw, m, v);
            }
        }
    }
}

/* row r's sum over group q's entries at the tile's T positions into out
 * (added to what is there after the first group); an entry adds weight *
 * src[offset + v * 16 ..] */
static inline __attribute__((always_inline)) void row_tile(const struct sparse_rows *sr, int r,
                                                           int q, const float *src, float *out,
                                                           const int T)
{
    const int32_t first = sr->start[r * sr->groups + q], end = sr->start[r * sr->groups + q + 1];
    if (q > 0 && first == end)
        return;
    __m512 a[TILE];
    for (int v = 0; v < T; v++)
        a[v] = q > 0 ? _mm512_load_ps(out + v * LANES) : _mm512_setzero_ps();
    for (int32_t j = first; j < end; j++) {
        const __m512 wv = _mm512_set1_ps(sr->weight[j]);
        const float *p = src + sr->offset[j];
        for (int v = 0; v < T; v++)
            a[v] = _mm512_fmadd_ps(wv, _mm512_load_ps(p + v * LANES), a[v]);
    }
    for (int v = 0; v < T; v++)
        _mm512_store_ps(out + v * LANES, a[v]);
}

/* every row of sr along one row of positions: tile by tile (x0 .. x0 + T -
 * 1), group by group of source channels (their windows under the tile stay
 * in L1 while every row reads them), into acc[row * acc_row + x * 16] */
static void rows_along(const struct sparse_rows *sr, const float *src, int w, float *acc,
                       size_t acc_row)
{
    for (int x0 = 0; x0 < w; x0 += TILE) {
        const int T = w - x0 < TILE ? w - x0 : TILE;
        const float *at = src + (size_t)x0 * LANES;
        for (int q = 0; q < sr->groups; q++)
            for (int r = 0; r < sr->rows; r++) {
                float *out = acc + r * acc_row + (size_t)x0 * LANES;
                switch (T) {
                case 8: row_tile(sr, r, q, at, out, 8); break;
                case 7: row_tile(sr, r, q, at, out, 7); break;
                case 6: row_tile(sr, r, q, at, out, 6); break;
                case 5: row_tile(sr, r, q, at, out, 5); break;
                case 4: row_tile(sr, r, q, at, out, 4); break;
                case 3: row_tile(sr, r, q, at, out, 3); break;
                case 2: row_tile(sr, r, q, at, out, 2); break;
                default: row_tile(sr, r, q, at, out, 1); break;
                }
            }
    }
}

/* groups of source channels whose windows under a tile fit in L1 together */
static int window_groups(const struct conv_shape *s, int channels)
{
    const int per_channel = s->kernel * (TILE + s->kernel - 1) * LANES;
    int fit = L1_WINDOW_FLOATS / per_channel;
    fit = fit ? fit : 1;
    return (channels + fit - 1) / fit;
}

/* where an entry's source tile starts, from the tile's position in its planes */
struct lanes_reach {
    const struct conv_shape *s;
    size_t channel;  /* floats of one source channel's planes */
    int row;         /* positions a row of those planes */
    int mirrored;    /* input gradient: the tap read the other way */
};

static size_t lanes_offset(const void *ctx, int source, int tap)
{
    const struct lanes_reach *r = ctx;
    const int k = r->s->kernel;
    int ky = tap / k, kx = tap % k;
    if (r->mirrored) {
        ky = k - 1 - ky;
        kx = k - 1 - kx;
    }
    return (size_t)source * r->channel + ((size_t)ky * r->row + kx) * LANES;
}

/* forward (and the weight gradient's reads): a row per output channel, its
 * entries reading input channel c's planes (channel floats apart) at the
 * tap (ky, kx) */
static struct sparse_rows forward_rows(const struct conv_shape *s, const struct sparse_weights *sw,
                                       const float *w, const struct lanes_geometry *g,
                                       size_t channel)
{
    const struct lanes_reach reach = {s, channel, g->wp, 0};
    return sparse_rows_grouped(s->out_c, sw->row_start, sw->row_in, sw->row_tap, sw->row_pos,
                               s->in_c, window_groups(s, s->in_c), lanes_offset, &reach, w);
}

/* input gradient: a row per input channel; position (iy, ix) takes output
 * channel o's gradient at (iy + pad - ky, ix + pad - kx), which in o's planes
 * with their margin of k - 1 - pad is (iy + k-1-ky, ix + k-1-kx) */
static struct sparse_rows input_gradient_rows(const struct conv_shape *s,
                                              const struct sparse_weights *sw, const float *w,
                                              const struct lanes_geometry *g)
{
    const struct lanes_reach reach = {s, g->dy_channel, g->owp, 1};
    return sparse_rows_grouped(s->in_c, sw->col_start, sw->col_out, sw->col_tap, sw->col_pos,
                               s->out_c, window_groups(s, s->out_c), lanes_offset, &reach, w);
}

static float *lanes_scratch(struct sparse_weights *sw, const struct lanes_geometry *g,
                            int threads)
{
    /* aligned: every plane's vectors are whole 64-byte lines */
    float *scratch = sparse_weights_scratch(sw, g->per_thread * (size_t)threads + LANES,
                                            -(long)LANES);
    if (!scratch) {
        fprintf(stderr, "dsrbench: out of memory for the sparse convolution's planes\n");
        exit(1);
    }
    return scratch + (LANES - ((uintptr_t)scratch / sizeof(float)) % LANES) % LANES;
}

/* floats between two input channels' planes as the kernels read them: the
 * group's copies, or an input in the lanes layout (which must be laid out
 * for this convolution: a mismatch is the caller's bug, caught here) */
static size_t input_channel_floats(const struct conv_shape *s, const struct lanes_geometry *g,
                                   const struct bordered_layout *xl)
{
    if (!xl)
        return g->x_channel;
    if (xl->group_stride != g->x_channel || xl->pad != s->pad || xl->h != s->in_h ||
        xl->w != s->in_w || xl->channel_stride < (size_t)g->groups * g->x_channel) {
        fprintf(stderr, "dsrbench: an input in the lanes layout (%dx%d, pad %d, %zu / %zu "
                        "floats a group / channel) does not fit the convolution (%dx%d, pad "
                        "%d, %d images)\n",
                xl->h, xl->w, xl->pad, xl->group_stride, xl->channel_stride, s->in_h, s->in_w,
                s->pad, s->batch);
        exit(1);
    }
    return xl->channel_stride;
}

/* group gr's input planes as the kernels read them: transposed into
 * `copy`, or in place when x comes in the lanes layout */
static const float *input_planes(const struct conv_shape *s, const struct lanes_geometry *g,
                                 const float *x, const struct bordered_layout *xl, int gr,
                                 float *copy)
{
    if (xl)
        return x + (size_t)gr * xl->group_stride;
    const int n0 = gr * LANES, lanes = lanes_in_group(s->batch, n0);
    to_lanes(x, s->in_c, s->batch, s->in_h, s->in_w, n0, lanes, copy, g->x_channel, g->wp,
             s->pad);
    return copy;
}

void sparse_conv_lanes_forward(const struct conv_shape *s, struct sparse_weights *sw,
                               const float *x, const struct bordered_layout *x_layout,
                               const float *w, const float *bias, const float *residual,
                               float *y, int threads)
{
    const struct lanes_geometry g = lanes_geometry_of(s);
    const int tasks = sw->slot_tasks < g.groups ? sw->slot_tasks : g.groups;
    const int nt = sparse_conv_threads(s, sw, threads);
    float *scratch = lanes_scratch(sw, &g, nt);
    struct sparse_rows rows = forward_rows(s, sw, w, &g, input_channel_floats(s, &g, x_layout));
    const int pass = rows_per_pass(s->out_w);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int task = 0; task < tasks; task++) {
        float *planes = scratch + (size_t)omp_get_thread_num() * g.per_thread;
        float *acc = planes + g.x_floats + g.dy_floats;
        for (int gr = task; gr < g.groups; gr += tasks) {
            const int n0 = gr * LANES, lanes = lanes_in_group(s->batch, n0);
            const float *xl = input_planes(s, &g, x, x_layout, gr, planes);
            for (int oy = 0; oy < s->out_h; oy += pass) {
                const int n = s->out_h - oy < pass ? s->out_h - oy : pass;
                for (int j = 0; j < n; j++)
                    rows_along(&rows, xl + (size_t)(oy + j) * g.wp * LANES, s->out_w,
                               acc + (size_t)j * s->out_w * LANES,
                               (size_t)n * s->out_w * LANES);
                from_lanes(acc, s->out_c, s->batch, s->out_h, s->out_w, oy, n, n0, lanes, bias,
                           residual, y, GRAD_SET);
            }
        }
    }
    sparse_rows_free(&rows);
}

/* out[j] += the dot product of the output gradient's rows (gy, gy_row
 * floats apart) with src[j]'s (src_row apart), len floats a row, for the
 * first `count` of eight sources (the rest repeat the last: dropped) */
static void dot8_rows(const float *gy, size_t gy_row, const float *const *src, size_t src_row,
                      int rows, int len, int count, float *out)
{
    __m512 sum[8];
    for (int j = 0; j < 8; j++)
        sum[j] = _mm512_setzero_ps();
    for (int r = 0; r < rows; r++) {
        const float *g = gy + (size_t)r * gy_row;
        const size_t at = (size_t)r * src_row;
        for (int i = 0; i < len; i += LANES) {
            const __m512 v = _mm512_load_ps(g + i);
            for (int j = 0; j < 8; j++)
                sum[j] = _mm512_fmadd_ps(v, _mm512_load_ps(src[j] + at + i), sum[j]);
        }
    }
    for (int j = 0; j < count; j++)
        out[j] += _mm512_reduce_add_ps(sum[j]);
}

/* one group's weight gradients added to the task's slot */
static void group_weight_gradient(const struct conv_shape *s, const struct sparse_weights *sw,
                                  const struct sparse_rows *reads,
                                  const struct lanes_geometry *g, const float *planes,
                                  const float *dyl, float *slot)
{
    const size_t first = ((size_t)g->margin * g->owp + g->margin) * LANES;
    for (int o = 0; o < s->out_c; o++) {
        const float *gy = dyl + o * g->dy_channel + first;
        const int32_t end = sw->row_start[o + 1];
        for (int32_t e = sw->row_start[o]; e < end; e += 8) {
            const int32_t last = (end - e < 8 ? end : e + 8) - 1;
            const float *src[8];
            for (int j = 0; j < 8; j++)
                src[j] = planes + reads->offset[e + j < last ? e + j : last];
            dot8_rows(gy, (size_t)g->owp * LANES, src, (size_t)g->wp * LANES, s->out_h,
                      s->out_w * LANES, (int)(last - e + 1), slot + e);
        }
    }
}

void sparse_conv_lanes_backward(const struct conv_shape *s, struct sparse_weights *sw,
                                const float *x, const struct bordered_layout *x_layout,
                                const float *w, const float *dy, float *dx,
                                enum grad_write dx_write, float *dw, float *dr,
                                enum grad_write dr_write, int threads)
{
    const struct lanes_geometry g = lanes_geometry_of(s);
    const int tasks = sw->slot_tasks < g.groups ? sw->slot_tasks : g.groups;
    const int nt = sparse_conv_threads(s, sw, threads);
    float *scratch = lanes_scratch(sw, &g, nt);
    const size_t nnz = sw->nnz, op = (size_t)s->out_h * s->out_w;
    struct sparse_rows rows = dx ? input_gradient_rows(s, sw, w, &g) : (struct sparse_rows){0};
    struct sparse_rows reads =
        dw ? forward_rows(s, sw, w, &g, input_channel_floats(s, &g, x_layout))
           : (struct sparse_rows){0};
    const int pass = rows_per_pass(s->in_w);
#pragma omp parallel num_threads(nt)
    {
        float *planes = scratch + (size_t)omp_get_thread_num() * g.per_thread;
        float *dyl = planes + g.x_floats, *acc = dyl + g.dy_floats;
#pragma omp for schedule(dynamic, 1)
        for (int task = 0; task < tasks; task++) {
            float *slot = sw->slots + (size_t)task * nnz;
            if (dw)
                memset(slot, 0, sizeof(float) * nnz);
            for (int gr = task; gr < g.groups; gr += tasks) {
                const int n0 = gr * LANES, lanes = lanes_in_group(s->batch, n0);
                if (dr) /* the fused add's gradient to its other input */
                    pass_rows(s->out_c, (size_t)s->batch * op, (size_t)n0 * op,
                              (size_t)lanes * op, dy, dr, dr_write);
                to_lanes(dy, s->out_c, s->batch, s->out_h, s->out_w, n0, lanes, dyl,
                         g.dy_channel, g.owp, g.margin);
                if (dw)
                    group_weight_gradient(s, sw, &reads, &g,
                                          input_planes(s, &g, x, x_layout, gr, planes), dyl,
                                          slot);
                for (int iy = 0; dx && iy < s->in_h; iy += pass) {
                    const int n = s->in_h - iy < pass ? s->in_h - iy : pass;
                    for (int j = 0; j < n; j++)
                        rows_along(&rows, dyl + (size_t)(iy + j) * g.owp * LANES, s->in_w,
                                   acc + (size_t)j * s->in_w * LANES,
                                   (size_t)n * s->in_w * LANES);
                    from_lanes(acc, s->in_c, s->batch, s->in_h, s->in_w, iy, n, n0, lanes,
                               NULL, NULL, dx, dx_write);
                }
            }
        }
        if (dw)
            sparse_conv_reduce_slots(sw, tasks, dw);
    }
    if (dx)
        sparse_rows_free(&rows);
    if (dw)
        sparse_rows_free(&reads);
}

#else

size_t sparse_conv_lanes_group_stride(const struct conv_shape *s)
{
    (void)s;
    return 0;
}

int sparse_conv_lanes_takes(const struct conv_shape *s)
{
    (void)s;
    return 0;
}

int sparse_conv_reads_lanes(const struct conv_shape *s)
{
    (void)s;
    return 0;
}

#endif
