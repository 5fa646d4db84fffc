/* 2-D convolution as im2col + GEMM (CNHW, gemm.h), over slices of the batch.
 *
 * The batch is split into a fixed number of tasks of whole images, and each
 * task into chunks small enough that a chunk's column matrix stays in cache
 * while its GEMM reads it. Threads take whole tasks (dynamic schedule: a
 * thread that the machine preempts holds nobody up) and run single-threaded
 * GEMMs on them, the weights packed once per call. Per pass:
 *   forward          y[:, chunk]  = W col(x[chunk])
 *   weight gradient  dW_task     += dy[:, chunk] col(x[chunk])^T, then
 *                    dW += sum of dW_task in task order (deterministic)
 *   input gradient   stride 1: the transposed convolution is a convolution
 *                    of dy with the flipped, transposed weights W' and padding
 *                    k-1-pad, so dx[chunk] += W' col(dy[chunk]), one GEMM with
 *                    no scatter; strided: dcol = W^T dy[:, chunk], then col2im.
 * A 1x1 stride-1 unpadded convolution reads x and dy as its column matrices.
 * A same-size stride-1 one (3x3, pad 1) builds none: forward and the input
 * gradient read shifted rows of the chunk's planes packed side by side, the
 * weight gradient zero-bordered planes (conv_planes.h). Fused with a
 * residual add, the forward GEMM accumulates onto a copy of the residual, and
 * backward passes dy to the residual's gradient chunk by chunk. */
#include "layers.h"

#include <omp.h>
#include <string.h>

#include "conv_planes.h"
#include "gemm.h"
#include "im2col.h"
#include "parallel.h"

/* floats of one chunk's column matrix we aim for: forward 1 MiB, about a
 * core's L2 (64 Ki to 4 Mi floats measured on WRN-28-2's layers: this was
 * best); backward 2 MiB: its weight-gradient GEMM reduces over the chunk's
 * columns and gains from longer ones (quiet machine, three rounds at 2
 * threads and two at 1, layer minima summed: WRN-28-2's 64- and 128-channel
 * layers' backward 7-10% faster, the 32-channel ones the same; their forward
 * was slower at 2 MiB, and 512 KiB slower both ways) */
#define CHUNK_FLOATS (256 * 1024)
#define BACKWARD_CHUNK_FLOATS (512 * 1024)

int conv_shape_resolve(struct conv_shape *s)
{
    if (s->kernel < 1 || s->stride < 1 || s->pad < 0)
        return -1;
    s->out_h = (s->in_h + 2 * s->pad - s->kernel) / s->stride + 1;
    s->out_w = (s->in_w + 2 * s->pad - s->kernel) / s->stride + 1;
    return (s->in_h + 2 * s->pad < s->kernel || s->in_w + 2 * s->pad < s->kernel) ? -1 : 0;
}

static struct patches forward_patches(const struct conv_shape *s)
{
    return (struct patches){s->in_c,  s->batch,  s->in_h,   s->in_w, s->out_h,
                            s->out_w, s->kernel, s->stride, s->pad};
}

/* the stride-1 transposed convolution as a convolution of dy */
static struct patches flipped_patches(const struct conv_shape *s)
{
    return (struct patches){s->out_c, s->batch,  s->out_h, s->out_w, s->in_h,
                            s->in_w,  s->kernel, 1,        s->kernel - 1 - s->pad};
}

static int reads_input_directly(const struct conv_shape *s)
{
    return s->kernel == 1 && s->stride == 1 && s->pad == 0;
}

static int transposes_as_convolution(const struct conv_shape *s)
{
    return s->stride == 1 && s->pad <= s->kernel - 1;
}

static size_t ckk(const struct conv_shape *s)
{
    return (size_t)s->in_c * s->kernel * s->kernel;
}

static size_t plane(int h, int w)
{
    return (size_t)h * w;
}

/* the column matrix of x's images n..n+m (built in col), or x itself for a
 * 1x1 convolution that reads it directly; *ldb its row stride */
static const float *input_columns(const struct conv_shape *s, const float *x, int n, int m,
                                  float *col, int *ldb)
{
    const size_t out_plane = plane(s->out_h, s->out_w);
    if (reads_input_directly(s)) {
        *ldb = (int)((size_t)s->batch * out_plane);
        return x + n * out_plane;
    }
    const struct patches p = forward_patches(s);
    im2col(&p, x, n, m, col);
    *ldb = (int)(m * out_plane);
    return col;
}

/* y[:, images n..n+m) (+)= W x's patches, through shifted rows or im2col */
static void forward_gemm(const struct conv_shape *s, const struct shift_table *table,
                         const float *packed, const float *x, int n, int m, float *col, float *y,
                         int accumulate)
{
    const size_t out_plane = plane(s->out_h, s->out_w), cols = (size_t)s->batch * out_plane;
    const int n_cols = (int)(m * out_plane), rows = (int)ckk(s);
    float *yc = y + n * out_plane;
#if defined(GEMM_SHIFTED)
    if (table->mask) {
        const float *xp = conv_packed_planes(s->in_c, s->batch, out_plane, x, n, m, col);
        const struct shifted_rows sr = conv_shifted_rows(s, table, xp, (size_t)n_cols);
        gemm_nn_shifted(s->out_c, n_cols, rows, packed, &sr, yc, (int)cols, accumulate);
        return;
    }
#else
    (void)table; /* never built without the shifted GEMMs */
#endif
    int ldb;
    const float *b = input_columns(s, x, n, m, col, &ldb);
    gemm_nn(s->out_c, n_cols, rows, packed, b, ldb, yc, (int)cols, accumulate);
}

/* slot (+)= dy[:, images n..n+m) col(x)^T */
static void weight_gradient_gemm(const struct conv_shape *s, const struct shift_table *table,
                                 int bordered, const float *x, const float *dy, int n, int m,
                                 float *col, float *slot, int accumulate)
{
    const size_t out_plane = plane(s->out_h, s->out_w), cols = (size_t)s->batch * out_plane;
    const int n_cols = (int)(m * out_plane), rows = (int)ckk(s);
#if defined(GEMM_SHIFTED)
    if (bordered) {
        const struct bordered b = conv_bordered(s, m);
        float *dyb = col + (size_t)s->in_c * b.x_stride;
        conv_bordered_inputs(s, &b, x, n, m, col);
        conv_bordered_gradients(s, &b, dy, n, m, dyb);
        const struct shifted_rows sr = conv_bordered_rows(s, table, &b, col);
        gemm_nt_shifted(s->out_c, rows, (int)b.n, dyb, (int)b.dy_stride, &sr, slot, rows,
                        accumulate);
        return;
    }
#else
    (void)table;
    (void)bordered;
#endif
    int ldb;
    const float *b = input_columns(s, x, n, m, col, &ldb);
    gemm_nt(s->out_c, rows, n_cols, dy + n * out_plane, (int)cols, b, ldb, slot, rows,
            accumulate);
}

/* column floats per image of the largest column matrix a pass builds */
static size_t column_floats_per_image(const struct conv_shape *s)
{
    if (reads_input_directly(s))
        return 0;
    size_t per_image = ckk(s) * plane(s->out_h, s->out_w); /* forward, dW, strided dcol */
    const size_t flipped = (size_t)s->out_c * s->kernel * s->kernel * plane(s->in_h, s->in_w);
    if (transposes_as_convolution(s) && flipped > per_image)
        per_image = flipped;
    return per_image;
}

/* images per chunk whose column matrix takes about `floats` */
static int chunk_images(const struct conv_shape *s, size_t floats)
{
    const size_t per_image = column_floats_per_image(s);
    size_t n = per_image ? floats / per_image : (size_t)s->batch;
    if (n < 1)
        n = 1;
    return n > (size_t)s->batch ? s->batch : (int)n;
}

static int task_count(const struct conv_shape *s, int threads)
{
    const int tasks = batch_tasks(threads);
    return tasks < s->batch ? tasks : s->batch;
}

/* Workspace: [threads column buffers][tasks weight-gradient slots][W']
 * [the weights packed for gemm_nn: W forward; W^T, W' or W^T backward] */
struct conv_workspace {
    float *columns; /* per thread: chunk_images * column_floats_per_image */
    float *dw_slots;
    float *flipped_w;
    float *packed;
    size_t column_floats;
};

static size_t larger(size_t a, size_t b)
{
    return a > b ? a : b;
}

static size_t packed_floats(const struct conv_shape *s)
{
    const int kk = s->kernel * s->kernel;
    size_t n = gemm_packed_floats(s->out_c, (int)ckk(s));        /* forward: W */
    n = larger(n, gemm_packed_floats(s->in_c, s->out_c * kk));   /* direct and flipped dx */
    return larger(n, gemm_packed_floats((int)ckk(s), s->out_c)); /* strided dx: W^T */
}

static struct conv_workspace split_workspace(const struct conv_shape *s, float *ws, int threads)
{
    struct conv_workspace w = {.column_floats = (size_t)chunk_images(s, BACKWARD_CHUNK_FLOATS) *
                                                column_floats_per_image(s)};
    w.columns = ws;
    w.dw_slots = w.columns + (size_t)threads * w.column_floats;
    w.flipped_w = w.dw_slots + (size_t)task_count(s, threads) * s->out_c * ckk(s);
    w.packed = w.flipped_w + (size_t)s->out_c * ckk(s);
    return w;
}

size_t conv_workspace_floats(const struct conv_shape *s, int threads)
{
    return (size_t)threads * chunk_images(s, BACKWARD_CHUNK_FLOATS) * column_floats_per_image(s) +
           (size_t)task_count(s, threads) * s->out_c * ckk(s) + (size_t)s->out_c * ckk(s) +
           packed_floats(s);
}

/* W'[ci][(co, kh, kw)] = W[co][ci][k-1-kh][k-1-kw]; serial: it is small,
 * and a parallel loop would add a barrier */
static void flip_weights(const struct conv_shape *s, const float *w, float *flipped)
{
    const int k = s->kernel, kk = k * k;
    for (int ci = 0; ci < s->in_c; ci++)
        for (int co = 0; co < s->out_c; co++)
            for (int j = 0; j < kk; j++)
                flipped[((size_t)ci * s->out_c + co) * kk + j] =
                    w[((size_t)co * s->in_c + ci) * kk + (kk - 1 - j)];
}

/* threads for a pass: those the workspace holds, one for small layers */
static int threads_for(const struct conv_shape *s, int workspace_threads)
{
    const long macs = (long)s->out_c * s->batch * s->out_h * s->out_w * (long)ckk(s);
    const int t = macs < PARALLEL_MIN_MACS ? 1 : omp_get_max_threads();
    return t < workspace_threads ? t : workspace_threads;
}

static void forward(const struct conv_shape *s, const float *x, const float *w, const float *bias,
                    const float *residual, float *y, float *workspace, int workspace_threads)
{
    const struct conv_workspace ws = split_workspace(s, workspace, workspace_threads);
    const int chunk = chunk_images(s, CHUNK_FLOATS);
    const int tasks = task_count(s, workspace_threads), rows = (int)ckk(s);
    const size_t out_plane = plane(s->out_h, s->out_w), cols = (size_t)s->batch * out_plane;
    struct shift_table table = conv_shift_table(s, chunk);
    gemm_pack_a(s->out_c, rows, w, rows, 0, ws.packed);
#pragma omp parallel num_threads(threads_for(s, workspace_threads))
    {
        float *col = ws.columns + (size_t)omp_get_thread_num() * ws.column_floats;
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < tasks; t++) {
            int first, count;
            batch_task_images(s->batch, tasks, t, &first, &count);
            for (int n = first; n < first + count; n += chunk) {
                const int m = first + count - n < chunk ? first + count - n : chunk;
                const int n_cols = (int)(m * out_plane);
                float *yc = y + n * out_plane;
                /* the GEMM adds onto the residual: no separate add pass */
                if (residual)
                    pass_rows(s->out_c, cols, n * out_plane, n_cols, residual, y, GRAD_SET);
                forward_gemm(s, &table, ws.packed, x, n, m, col, y, residual != NULL);
                for (int co = 0; bias && co < s->out_c; co++)
                    for (int j = 0; j < n_cols; j++)
                        yc[(size_t)co * cols + j] += bias[co];
            }
        }
    }
    conv_shift_table_free(&table);
}

void conv_forward(const struct conv_shape *s, const float *x, const float *w, const float *bias,
                  float *y, float *workspace, int threads)
{
    forward(s, x, w, bias, NULL, y, workspace, threads);
}

void conv_residual_forward(const struct conv_shape *s, const float *x, const float *w,
                           const float *bias, const float *r, float *y, float *workspace,
                           int threads)
{
    forward(s, x, w, bias, r, y, workspace, threads);
}

/* dw += the tasks' slots, added in task order so the result does not depend
 * on which thread ran which task; called by every thread of a parallel region */
static void reduce_slots(size_t count, int tasks, const float *slots, float *dw)
{
#pragma omp for schedule(static)
    for (size_t i = 0; i < count; i++) {
        float acc = dw[i];
        for (int t = 0; t < tasks; t++)
            acc += slots[(size_t)t * count + i];
        dw[i] = acc;
    }
}

/* one chunk of the input gradient: images [n, n + m); ws->packed holds W^T
 * (direct), W' (flipped) or W^T (strided) */
static void input_gradient_chunk(const struct conv_shape *s, const struct conv_workspace *ws,
                                 const struct shift_table *table, const float *dy, float *dx,
                                 enum grad_write dx_write, int n, int m, float *col)
{
    const int add = dx_write == GRAD_ADD;
    const size_t in_plane = plane(s->in_h, s->in_w), out_plane = plane(s->out_h, s->out_w);
    const size_t in_cols = (size_t)s->batch * in_plane, out_cols = (size_t)s->batch * out_plane;
    const int rows = (int)ckk(s);
    if (reads_input_directly(s)) {
        gemm_nn(s->in_c, (int)(m * in_plane), s->out_c, ws->packed, dy + n * out_plane,
                (int)out_cols, dx + n * in_plane, (int)in_cols, add);
    } else if (transposes_as_convolution(s)) {
        const struct patches fp = flipped_patches(s);
        const int flipped_rows = s->out_c * s->kernel * s->kernel;
#if defined(GEMM_SHIFTED)
        if (table->mask) {
            const float *dyp = conv_packed_planes(s->out_c, s->batch, out_plane, dy, n, m, col);
            const struct shifted_rows sr = conv_shifted_rows(s, table, dyp, m * out_plane);
            gemm_nn_shifted(s->in_c, (int)(m * in_plane), flipped_rows, ws->packed, &sr,
                            dx + n * in_plane, (int)in_cols, add);
            return;
        }
#else
        (void)table;
#endif
        im2col(&fp, dy, n, m, col);
        gemm_nn(s->in_c, (int)(m * in_plane), flipped_rows, ws->packed, col,
                (int)(m * in_plane), dx + n * in_plane, (int)in_cols, add);
    } else {
        const struct patches p = forward_patches(s);
        gemm_nn(rows, (int)(m * out_plane), s->out_c, ws->packed, dy + n * out_plane,
                (int)out_cols, col, (int)(m * out_plane), 0);
        if (!add) /* col2im scatters: the chunk's images start at zero */
            for (int c = 0; c < s->in_c; c++)
                memset(dx + ((size_t)c * s->batch + n) * in_plane, 0,
                       sizeof(float) * m * in_plane);
        col2im_add(&p, col, n, m, dx);
    }
}

/* the weights as the input gradient's GEMM reads them */
static void pack_input_gradient_weights(const struct conv_shape *s, const float *w,
                                        const struct conv_workspace *ws)
{
    const int rows = (int)ckk(s);
    if (reads_input_directly(s)) {
        gemm_pack_a(s->in_c, s->out_c, w, rows, 1, ws->packed);
    } else if (transposes_as_convolution(s)) {
        const int flipped_rows = s->out_c * s->kernel * s->kernel;
        flip_weights(s, w, ws->flipped_w);
        gemm_pack_a(s->in_c, flipped_rows, ws->flipped_w, flipped_rows, 0, ws->packed);
    } else {
        gemm_pack_a(rows, s->out_c, w, rows, 1, ws->packed);
    }
}

static void backward(const struct conv_shape *s, const float *x, const float *w, const float *dy,
                     float *dx, enum grad_write dx_write, float *dw, float *dbias, float *dr,
                     enum grad_write dr_write, float *workspace, int workspace_threads)
{
    const struct conv_workspace ws = split_workspace(s, workspace, workspace_threads);
    const int chunk = chunk_images(s, BACKWARD_CHUNK_FLOATS);
    const int tasks = task_count(s, workspace_threads), rows = (int)ckk(s);
    const size_t out_plane = plane(s->out_h, s->out_w), cols = (size_t)s->batch * out_plane;
    struct shift_table table = conv_shift_table(s, chunk);
    const int bordered = dw && conv_bordered_weight_gradient(s, chunk, ws.column_floats);
    if (dbias)
        sum_rows_into(s->out_c, cols, dy, dbias);
    if (dx)
        pack_input_gradient_weights(s, w, &ws);
#pragma omp parallel num_threads(threads_for(s, workspace_threads))
    {
        float *col = ws.columns + (size_t)omp_get_thread_num() * ws.column_floats;
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < tasks; t++) {
            int first, count;
            batch_task_images(s->batch, tasks, t, &first, &count);
            float *slot = ws.dw_slots + (size_t)t * s->out_c * rows;
            for (int n = first; n < first + count; n += chunk) {
                const int m = first + count - n < chunk ? first + count - n : chunk;
                const int n_cols = (int)(m * out_plane);
                if (dr) /* the fused add's gradient to its other input, while dy is in cache */
                    pass_rows(s->out_c, cols, n * out_plane, n_cols, dy, dr, dr_write);
                if (dw)
                    weight_gradient_gemm(s, &table, bordered, x, dy, n, m, col, slot,
                                         n != first);
                if (dx)
                    input_gradient_chunk(s, &ws, &table, dy, dx, dx_write, n, m, col);
            }
        }
        if (dw)
            reduce_slots((size_t)s->out_c * rows, tasks, ws.dw_slots, dw);
    }
    conv_shift_table_free(&table);
}

void conv_backward(const struct conv_shape *s, const float *x, const float *w, const float *dy,
                   float *dx, enum grad_write dx_write, float *dw, float *dbias, float *workspace,
                   int threads)
{
    backward(s, x, w, dy, dx, dx_write, dw, dbias, NULL, GRAD_ADD, workspace, threads);
}

void conv_residual_backward(const struct conv_shape *s, const float *x, const float *w,
                            const float *dy, float *dx, enum grad_write dx_write, float *dw,
                            float *dbias, float *dr, enum grad_write dr_write, float *workspace,
                            int threads)
{
    backward(s, x, w, dy, dx, dx_write, dw, dbias, dr, dr_write, workspace, threads);
}
