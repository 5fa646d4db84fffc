/* The sparse convolution's entry points and the pieces its flat kernels
 * (sparse_conv_flat.c) share: threads, the weight-gradient slots' reduction
 * (the split of the batch into tasks: parallel.h). */
#include <omp.h>

#include "parallel.h"
#include "sparse_conv_internal.h"

int sparse_conv_slot_tasks(int threads)
{
    return batch_tasks(threads);
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

void sparse_conv_forward(const struct conv_shape *s, struct sparse_weights *sw,
                         const float *x, const struct bordered_layout *x_layout, const float *w,
                         const float *bias, const float *residual, float *y, int threads)
{
    sparse_conv_flat_forward(s, sw, x, x_layout, w, bias, residual, y, threads);
}

void sparse_conv_backward(const struct conv_shape *s, struct sparse_weights *sw, const float *x,
                          const struct bordered_layout *x_layout, const float *w,
                          const float *dy, float *dx, enum grad_write dx_write, float *dw,
                          float *dbias, float *dr, enum grad_write dr_write, int threads)
{
    if (dbias)
        sum_rows_into(s->out_c, (size_t)s->batch * s->out_h * s->out_w, dy, dbias);
    sparse_conv_flat_backward(s, sw, x, x_layout, w, dy, dx, dx_write, dw, dr, dr_write,
                              threads);
}
