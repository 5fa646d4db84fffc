/* Shared by sparse_conv.c (entry points, helpers) and sparse_conv_flat.c
 * (the kernels). */
#ifndef DSRBENCH_SPARSE_CONV_INTERNAL_H
#define DSRBENCH_SPARSE_CONV_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "sparse_kernels.h"

/* floats of one tile of sparse_rows_product: 8 AVX-512 vectors */
#define SPARSE_ROWS_TILE 128

/* rows of weighted sums over shifted source planes: entry j adds weight[j] *
 * src[offset[j] + i]. A row's entries are split into `groups` by source
 * channel (those of a few channels read a tile's worth of source that fits
 * in L1 together): group q of row r is entries start[r * groups + q] ..
 * start[r * groups + q + 1] - 1. */
struct sparse_rows {
    int rows, groups;
    int32_t *start;
    size_t *offset;
    float *weight;
};

/* out[r * out_stride + i] = row r's sum at i, for i in [0, n rounded up to a
 * whole tile): src must be readable and out writable that far */
void sparse_rows_product(const struct sparse_rows *sr, const float *src, size_t n, float *out,
                         size_t out_stride);

/* threads for a pass: one for small layers (parallel.h) */
int sparse_conv_threads(const struct conv_shape *s, const struct sparse_weights *sw,
                        int threads);
/* dw += the tasks' slots in task order, whichever thread ran which task;
 * called by every thread of a parallel region */
void sparse_conv_reduce_slots(const struct sparse_weights *sw, int tasks, float *dw);

void sparse_conv_flat_forward(const struct conv_shape *s, struct sparse_weights *sw,
                              const float *x, const struct bordered_layout *x_layout,
                              const float *w, const float *bias, const float *residual,
                              float *y, int threads);
void sparse_conv_flat_backward(const struct conv_shape *s, struct sparse_weights *sw,
                               const float *x, const struct bordered_layout *x_layout,
                               const float *w, const float *dy, float *dx,
                               enum grad_write dx_write, float *dw, float *dr,
                               enum grad_write dr_write, int threads);

#endif
