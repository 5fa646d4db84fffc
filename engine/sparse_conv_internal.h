/* Shared by sparse_conv.c (entry points, helpers) and the kernels:
 * sparse_conv_flat.c and sparse_conv_lanes.c. */
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

/* room for rows x groups groups and nnz entries (exits when out of memory) */
struct sparse_rows sparse_rows_alloc(int rows, int groups, size_t nnz);
void sparse_rows_free(struct sparse_rows *r);
/* rows of entries given as lists (start[r] .. start[r + 1] - 1 for row r,
 * each with its source channel, ascending, its tap and its weight's pos),
 * split into `groups` by source channel (of `sources`), entry e reading
 * its source at offset(ctx, source, tap) with weight w[pos] */
struct sparse_rows sparse_rows_grouped(int rows, const int32_t *start, const int32_t *source,
                                       const int32_t *tap, const int32_t *pos, int sources,
                                       int groups, size_t (*offset)(const void *, int, int),
                                       const void *ctx, const float *w);

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

/* whether the lanes kernels (sparse_conv_lanes.c) can run this shape
 * (stride 1, pad at most kernel - 1, an AVX-512 build); whether they are
 * the faster choice for it is sparse_conv_reads_lanes (sparse_kernels.h) */
int sparse_conv_lanes_takes(const struct conv_shape *s);
/* whether the flat kernels can read this shape's input bordered */
int sparse_conv_flat_reads_bordered(const struct conv_shape *s);
#if defined(__AVX512F__)
#define SPARSE_CONV_LANES 1
/* x_layout: NULL, or x's lanes layout (layers.h), read in place */
void sparse_conv_lanes_forward(const struct conv_shape *s, struct sparse_weights *sw,
                               const float *x, const struct bordered_layout *x_layout,
                               const float *w, const float *bias, const float *residual,
                               float *y, int threads);
void sparse_conv_lanes_backward(const struct conv_shape *s, struct sparse_weights *sw,
                                const float *x, const struct bordered_layout *x_layout,
                                const float *w, const float *dy, float *dx,
                                enum grad_write dx_write, float *dw, float *dr,
                                enum grad_write dr_write, int threads);
#else
#define SPARSE_CONV_LANES 0 /* nothing takes the lanes kernels: nothing calls these */
#endif

#endif
