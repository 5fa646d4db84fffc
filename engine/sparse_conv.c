/* The sparse convolution's entry points (small stride-1 planes, and inputs
 * in the lanes layout, to the lanes kernels, sparse_conv_lanes.c; the rest
 * to the flat ones, sparse_conv_flat.c) and the pieces they share: threads,
 * the weight-gradient slots' reduction (the split of the batch into tasks:
 * parallel.h), the row tables. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

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

struct sparse_rows sparse_rows_alloc(int rows, int groups, size_t nnz)
{
    struct sparse_rows r = {rows, groups, malloc(sizeof(int32_t) * ((size_t)rows * groups + 1)),
                            malloc(sizeof(size_t) * (nnz ? nnz : 1)),
                            malloc(sizeof(float) * (nnz ? nnz : 1))};
    if (!r.start || !r.offset || !r.weight) {
        fprintf(stderr, "dsrbench: out of memory in the sparse convolution\n");
        exit(1);
    }
    return r;
}

void sparse_rows_free(struct sparse_rows *r)
{
    free(r->start);
    free(r->offset);
    free(r->weight);
}

struct sparse_rows sparse_rows_grouped(int rows, const int32_t *start, const int32_t *source,
                                       const int32_t *tap, const int32_t *pos, int sources,
                                       int groups, size_t (*offset)(const void *, int, int),
                                       const void *ctx, const float *w)
{
    const int per_group = (sources + groups - 1) / groups;
    struct sparse_rows r = sparse_rows_alloc(rows, groups, (size_t)start[rows]);
    for (int o = 0; o < rows; o++) {
        int32_t e = start[o];
        for (int q = 0; q < groups; q++) {
            r.start[o * groups + q] = e;
            for (; e < start[o + 1] && source[e] < (q + 1) * per_group; e++) {
                r.offset[e] = offset(ctx, source[e], tap[e]);
                r.weight[e] = w[pos[e]];
            }
        }
    }
    r.start[rows * groups] = start[rows];
    return r;
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
#if SPARSE_CONV_LANES
    if (x_layout ? x_layout->group_stride > 0 : sparse_conv_reads_lanes(s)) {
        sparse_conv_lanes_forward(s, sw, x, x_layout, w, bias, residual, y, threads);
        return;
    }
#endif
    sparse_conv_flat_forward(s, sw, x, x_layout, w, bias, residual, y, threads);
}

void sparse_conv_backward(const struct conv_shape *s, struct sparse_weights *sw, const float *x,
                          const struct bordered_layout *x_layout, const float *w,
                          const float *dy, float *dx, enum grad_write dx_write, float *dw,
                          float *dbias, float *dr, enum grad_write dr_write, int threads)
{
    if (dbias)
        sum_rows_into(s->out_c, (size_t)s->batch * s->out_h * s->out_w, dy, dbias);
#if SPARSE_CONV_LANES
    if (x_layout ? x_layout->group_stride > 0 : sparse_conv_reads_lanes(s)) {
        sparse_conv_lanes_backward(s, sw, x, x_layout, w, dy, dx, dx_write, dw, dr, dr_write,
                                   threads);
        return;
    }
#endif
    sparse_conv_flat_backward(s, sw, x, x_layout, w, dy, dx, dx_write, dw, dr, dr_write,
                              threads);
}
