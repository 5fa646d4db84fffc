/* The sparse convolution's entry points and the pieces its flat kernels
 * (sparse_conv_flat.c) share: threads, the split of the batch into tasks,
 * the fused add's gradient, the weight-gradient slots' reduction. */
#include <omp.h>
#include <string.h>

#include "parallel.h"
#include "sparse_conv_internal.h"

/* tasks of a pass: enough that two threads balance under preemption, as
 * conv.c's MIN_TASKS */
#define MIN_TASKS 8

int sparse_conv_slot_tasks(int threads)
{
    return 2 * threads > MIN_TASKS ? 2 * threads : MIN_TASKS;
}

/* one thread below a quarter of the dense kernels' threshold: the sparse
 * kernels' multiply-adds are slower than the GEMM's, and each is real work */
int sparse_conv_threads(const struct conv_shape *s, const struct sparse_weights *sw, int threads)
{
    const long macs = (long)sw->nnz * s->batch * (long)s->out_h * s->out_w;
    const int max = omp_get_max_threads();
    if (macs < PARALLEL_MIN_MACS / 4)
        return 1;
    return threads < max ? threads : max;
}

void sparse_conv_task_images(int batch, int tasks, int t, int *first, int *count)
{
    const int base = batch / tasks, extra = batch % tasks;
    *first = t * base + (t < extra ? t : extra);
    *count = base + (t < extra);
}

void sparse_conv_residual_gradient(const struct conv_shape *s, const float *dy, float *dr,
                                   enum grad_write dr_write, int n)
{
    const size_t op = (size_t)s->out_h * s->out_w;
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

static void sum_planes_into(int channels, size_t len, const float *dy, float *dbias)
{
    for (int c = 0; c < channels; c++) {
        double acc = 0.0;
        for (size_t j = 0; j < len; j++)
            acc += dy[(size_t)c * len + j];
        dbias[c] += (float)acc;
    }
}

void sparse_conv_forward(const struct conv_shape *s, struct sparse_weights *sw,
                         const float *x, const float *w, const float *bias,
                         const float *residual, float *y, int threads)
{
    sparse_conv_flat_forward(s, sw, x, w, bias, residual, y, threads);
}

void sparse_conv_backward(const struct conv_shape *s, struct sparse_weights *sw, const float *x,
                          const float *w, const float *dy, float *dx, enum grad_write dx_write,
                          float *dw, float *dbias, float *dr, enum grad_write dr_write,
                          int threads)
{
    if (dbias)
        sum_planes_into(s->out_c, (size_t)s->batch * s->out_h * s->out_w, dy, dbias);
    sparse_conv_flat_backward(s, sw, x, w, dy, dx, dx_write, dw, dr, dr_write, threads);
}
