/* Direct sparse convolution (sparse_kernels.h): stride 1 with same padding
 * goes to sparse_conv_same.c; every other shape runs here, where the unit of
 * work is one tap of one active weight on one image: a shifted plane
 * multiply-add over the rows and columns where the tap reads inside the
 * input. Stride 1 gets contiguous inner loops that gcc vectorizes; where a
 * tap's rows are whole (no horizontal shift, output as wide as the input)
 * the rows join into one loop over the plane. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "sparse_conv_internal.h"

/* tasks of the weight gradient: enough that two threads balance under
 * preemption, as conv.c's MIN_TASKS */
#define MIN_TASKS 8

int sparse_conv_slot_tasks(int threads)
{
    return 2 * threads > MIN_TASKS ? 2 * threads : MIN_TASKS;
}

/* Where one tap reads inside the input: outputs o in [lo, hi) whose input
 * index o * stride + shift lies in [0, size) (shift = tap offset - pad). */
struct span {
    int lo, hi;
};

static struct span valid_span(int out, int size, int stride, int shift)
{
    int lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
    int hi = size - 1 - shift < 0 ? 0 : (size - 1 - shift) / stride + 1;
    if (hi > out)
        hi = out;
    if (lo > hi)
        lo = hi;
    return (struct span){lo, hi};
}

/* one tap's geometry: its spans and the input offset of output (0, 0) */
struct tap {
    struct span rows, cols;
    int shift_y, shift_x;
    int whole_rows; /* stride 1, no horizontal shift, out_w == in_w: one loop */
};

static struct tap tap_geometry(const struct conv_shape *s, int t)
{
    struct tap g;
    g.shift_y = t / s->kernel - s->pad;
    g.shift_x = t % s->kernel - s->pad;
    g.rows = valid_span(s->out_h, s->in_h, s->stride, g.shift_y);
    g.cols = valid_span(s->out_w, s->in_w, s->stride, g.shift_x);
    g.whole_rows = s->stride == 1 && g.shift_x == 0 && s->out_w == s->in_w;
    return g;
}

static void axpy(int n, float a, const float *restrict x, float *restrict y)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

static float dot(int n, const float *restrict a, const float *restrict b)
{
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
}

/* y (an output plane) += w * the input plane x shifted by the tap */
static void tap_forward(const struct conv_shape *s, const struct tap *g, float w,
                        const float *restrict x, float *restrict y)
{
    const int ow = s->out_w, iw = s->in_w, st = s->stride;
    if (g->whole_rows) {
        const int rows = g->rows.hi - g->rows.lo;
        axpy(rows * ow, w, x + (size_t)(g->rows.lo + g->shift_y) * iw,
             y + (size_t)g->rows.lo * ow);
        return;
    }
    const int lo = g->cols.lo, n = g->cols.hi - g->cols.lo;
    for (int oy = g->rows.lo; oy < g->rows.hi; oy++) {
        float *restrict yr = y + (size_t)oy * ow + lo;
        const float *restrict xr = x + (size_t)(oy * st + g->shift_y) * iw + lo * st + g->shift_x;
        if (st == 1)
            axpy(n, w, xr, yr);
        else
            for (int j = 0; j < n; j++)
                yr[j] += w * xr[j * st];
    }
}

/* dx (an input plane) += w * the output-gradient plane dy, shifted back */
static void tap_backward(const struct conv_shape *s, const struct tap *g, float w,
                         const float *restrict dy, float *restrict dx)
{
    const int ow = s->out_w, iw = s->in_w, st = s->stride;
    if (g->whole_rows) {
        const int rows = g->rows.hi - g->rows.lo;
        axpy(rows * ow, w, dy + (size_t)g->rows.lo * ow,
             dx + (size_t)(g->rows.lo + g->shift_y) * iw);
        return;
    }
    const int lo = g->cols.lo, n = g->cols.hi - g->cols.lo;
    for (int oy = g->rows.lo; oy < g->rows.hi; oy++) {
        const float *restrict dyr = dy + (size_t)oy * ow + lo;
        float *restrict dxr = dx + (size_t)(oy * st + g->shift_y) * iw + lo * st + g->shift_x;
        if (st == 1)
            axpy(n, w, dyr, dxr);
        else
            for (int j = 0; j < n; j++)
                dxr[j * st] += w * dyr[j];
    }
}

/* sum over the plane of dy * (x shifted by the tap): one weight's gradient */
static float tap_gradient(const struct conv_shape *s, const struct tap *g,
                          const float *restrict x, const float *restrict dy)
{
    const int ow = s->out_w, iw = s->in_w, st = s->stride;
    if (g->whole_rows) {
        const int rows = g->rows.hi - g->rows.lo;
        return dot(rows * ow, dy + (size_t)g->rows.lo * ow,
                   x + (size_t)(g->rows.lo + g->shift_y) * iw);
    }
    const int lo = g->cols.lo, n = g->cols.hi - g->cols.lo;
    float acc = 0.0f;
    for (int oy = g->rows.lo; oy < g->rows.hi; oy++) {
        const float *restrict dyr = dy + (size_t)oy * ow + lo;
        const float *restrict xr = x + (size_t)(oy * st + g->shift_y) * iw + lo * st + g->shift_x;
        if (st == 1) {
            acc += dot(n, dyr, xr);
        } else {
            float row = 0.0f;
            for (int j = 0; j < n; j++)
                row += dyr[j] * xr[j * st];
            acc += row;
        }
    }
    return acc;
}

static size_t plane(int h, int w)
{
    return (size_t)h * w;
}

/* every tap's geometry, computed once per call (divisions per active weight
 * and image cost as much as an 8x8 plane's multiply-adds) */
static struct tap *tap_table(const struct conv_shape *s)
{
    const int kk = s->kernel * s->kernel;
    struct tap *taps = malloc(sizeof *taps * (size_t)kk);
    if (!taps) {
        fprintf(stderr, "dsrbench: out of memory in the sparse convolution\n");
        exit(1);
    }
    for (int t = 0; t < kk; t++)
        taps[t] = tap_geometry(s, t);
    return taps;
}

int sparse_conv_threads(const struct conv_shape *s, const struct sparse_weights *sw, int threads)
{
    const long macs = (long)sw->nnz * s->batch * (long)plane(s->out_h, s->out_w);
    const int max = omp_get_max_threads();
    if (macs < PARALLEL_MIN_MACS / 4)
        return 1;
    return threads < max ? threads : max;
}

void sparse_conv_forward(const struct conv_shape *s, struct sparse_weights *sw,
                         const float *x, const float *w, const float *bias,
                         const float *residual, float *y, int threads)
{
    if (sparse_conv_same_applies(s)) {
        sparse_conv_same_forward(s, sw, x, w, bias, residual, y, threads);
        return;
    }
    const size_t ip = plane(s->in_h, s->in_w), op = plane(s->out_h, s->out_w);
    const int batch = s->batch;
    struct tap *taps = tap_table(s);
#pragma omp parallel for schedule(dynamic, 1) num_threads(sparse_conv_threads(s, sw, threads))
    for (int n = 0; n < batch; n++) {
        for (int o = 0; o < s->out_c; o++) {
            float *yp = y + ((size_t)o * batch + n) * op;
            if (residual)
                memcpy(yp, residual + ((size_t)o * batch + n) * op, sizeof(float) * op);
            else
                memset(yp, 0, sizeof(float) * op);
            if (bias)
                for (size_t i = 0; i < op; i++)
                    yp[i] += bias[o];
            for (int32_t e = sw->row_start[o]; e < sw->row_start[o + 1]; e++)
                tap_forward(s, &taps[sw->row_tap[e]], w[sw->row_pos[e]],
                            x + ((size_t)sw->row_in[e] * batch + n) * ip, yp);
        }
    }
    free(taps);
}

void sparse_conv_task_images(int batch, int tasks, int t, int *first, int *count)
{
    const int base = batch / tasks, extra = batch % tasks;
    *first = t * base + (t < extra ? t : extra);
    *count = base + (t < extra);
}

static void sum_planes_into(int channels, size_t len, const float *dy, float *dbias)
{
    for (int c = 0; c < channels; c++) {
        double acc = 0.0;
        for (size_t j = 0; j < len; j++)
            acc += dy[(size_t)c * len + j];
        dbias[c] += (float)acc;
    }
}

/* the weight gradients of image n, added to this task's slot */
static void image_weight_gradient(const struct conv_shape *s, const struct sparse_weights *sw,
                                  const struct tap *taps, const float *x, const float *dy,
                                  int n, float *slot)
{
    const size_t ip = plane(s->in_h, s->in_w), op = plane(s->out_h, s->out_w);
    for (int o = 0; o < s->out_c; o++) {
        const float *dyp = dy + ((size_t)o * s->batch + n) * op;
        for (int32_t e = sw->row_start[o]; e < sw->row_start[o + 1]; e++)
            slot[e] += tap_gradient(s, &taps[sw->row_tap[e]],
                                    x + ((size_t)sw->row_in[e] * s->batch + n) * ip, dyp);
    }
}

/* the input gradient of image n */
static void image_input_gradient(const struct conv_shape *s, const struct sparse_weights *sw,
                                 const struct tap *taps, const float *w, const float *dy,
                                 float *dx, enum grad_write dx_write, int n)
{
    const size_t ip = plane(s->in_h, s->in_w), op = plane(s->out_h, s->out_w);
    for (int c = 0; c < s->in_c; c++) {
        float *dxp = dx + ((size_t)c * s->batch + n) * ip;
        if (dx_write == GRAD_SET)
            memset(dxp, 0, sizeof(float) * ip);
        for (int32_t e = sw->col_start[c]; e < sw->col_start[c + 1]; e++)
            tap_backward(s, &taps[sw->col_tap[e]], w[sw->col_pos[e]],
                         dy + ((size_t)sw->col_out[e] * s->batch + n) * op, dxp);
    }
}

void sparse_conv_residual_gradient(const struct conv_shape *s, const float *dy, float *dr,
                                   enum grad_write dr_write, int n)
{
    const size_t op = plane(s->out_h, s->out_w);
    for (int o = 0; o < s->out_c; o++) {
        const size_t at = ((size_t)o * s->batch + n) * op;
        if (dr_write == GRAD_SET)
            memcpy(dr + at, dy + at, sizeof(float) * op);
        else
            for (size_t i = 0; i < op; i++)
                dr[at + i] += dy[at + i];
    }
}

void sparse_conv_reduce_slots(const struct sparse_weights *sw, int tasks, float *dw)
{
    const size_t nnz = sw->nnz;
#pragma omp for schedule(static)
    for (size_t e = 0; e < nnz; e++) {
        float acc = dw[sw->row_pos[e]];
        for (int t = 0; t < tasks; t++)
            acc += sw->slots[(size_t)t * nnz + e];
        dw[sw->row_pos[e]] = acc;
    }
}

void sparse_conv_backward(const struct conv_shape *s, struct sparse_weights *sw, const float *x,
                          const float *w, const float *dy, float *dx, enum grad_write dx_write,
                          float *dw, float *dbias, float *dr, enum grad_write dr_write,
                          int threads)
{
    if (dbias)
        sum_planes_into(s->out_c, (size_t)s->batch * plane(s->out_h, s->out_w), dy, dbias);
    if (sparse_conv_same_applies(s)) {
        sparse_conv_same_backward(s, sw, x, w, dy, dx, dx_write, dw, dr, dr_write, threads);
        return;
    }
    const int tasks = sw->slot_tasks < s->batch ? sw->slot_tasks : s->batch;
    const size_t nnz = sw->nnz;
    struct tap *taps = tap_table(s);
#pragma omp parallel num_threads(sparse_conv_threads(s, sw, threads))
    {
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < tasks; t++) {
            int first, count;
            sparse_conv_task_images(s->batch, tasks, t, &first, &count);
            float *slot = sw->slots + (size_t)t * nnz;
            if (dw)
                memset(slot, 0, sizeof(float) * nnz);
            for (int n = first; n < first + count; n++) {
                if (dr)
                    sparse_conv_residual_gradient(s, dy, dr, dr_write, n);
                if (dw)
                    image_weight_gradient(s, sw, taps, x, dy, n, slot);
                if (dx)
                    image_input_gradient(s, sw, taps, w, dy, dx, dx_write, n);
            }
        }
        if (dw)
            sparse_conv_reduce_slots(sw, tasks, dw);
    }
    free(taps);
}
