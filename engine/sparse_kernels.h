/* Sparse kernels for masked weights (sparse_weights.h): the convolution and
 * the fully connected layer computed from the active weights only, same
 * conventions and results (up to float rounding) as their dense versions in
 * layers.h with the inactive weights at zero. Weights are read from w and
 * gradients written to dw through the entries' pos (sparse_weights.h): in
 * training these are the weight's COMPACT arrays of active entries
 * (param_storage.h), in the kernel tests dense arrays.
 *
 * Convolution: no im2col. For a block of images and one output channel the
 * output stays in L1 while every active weight of that channel adds its
 * input planes, shifted by the tap, as one flat loop over zero-bordered
 * copies of the planes (split into phases for strides; sparse_conv_flat.c),
 * or over the input itself when it comes in that layout (a batch norm
 * writes it so for convolutions that all read it sparse: net_plan.h). On
 * small stride-1 planes the planes hold 16 images side by side instead, in
 * a vector's lanes, so that every load is aligned (sparse_conv_lanes.c). The
 * input gradient runs the same scheme over the transpose (per input channel), and
 * the weight gradient takes, for every active weight, the dot product of the
 * output-gradient plane with the shifted input plane. Work is split over
 * images; weight-gradient partial sums of sw->slot_tasks image ranges are
 * added in range order, so results depend on slot_tasks, not on scheduling. */
#ifndef DSRBENCH_SPARSE_KERNELS_H
#define DSRBENCH_SPARSE_KERNELS_H
#include "layers.h"
#include "sparse_weights.h"

/* residual and bias may be NULL; y = conv(x) + bias (+ residual). x_layout:
 * NULL when x is plain, else x's bordered layout, flat or lanes
 * (sparse_conv_reads_bordered and sparse_conv_reads_lanes say which shapes
 * may take which; its pad is s->pad), whose planes the kernels then read in
 * place instead of copying x into them */
void sparse_conv_forward(const struct conv_shape *s, struct sparse_weights *sw,
                         const float *x, const struct bordered_layout *x_layout, const float *w,
                         const float *bias, const float *residual, float *y, int threads);
/* as conv_residual_backward (dr NULL: conv_backward); x_layout as forward's */
void sparse_conv_backward(const struct conv_shape *s, struct sparse_weights *sw, const float *x,
                          const struct bordered_layout *x_layout, const float *w,
                          const float *dy, float *dx, enum grad_write dx_write, float *dw,
                          float *dbias, float *dr, enum grad_write dr_write, int threads);
/* whether the convolution reads its input bordered when given it so: stride
 * 1, pad at most kernel - 1 (the shared-border planes of sparse_conv_flat.c),
 * planes too large for the lanes kernels */
int sparse_conv_reads_bordered(const struct conv_shape *s);
/* the channel stride of a bordered input for s->batch images: their planes
 * and the zeros the kernels read past the last one (and not a multiple of
 * 4 KiB: channels that many pages apart would share L1 sets) */
size_t sparse_conv_bordered_stride(const struct conv_shape *s);
/* whether the convolution runs the lanes kernels, and so reads its input
 * in the lanes layout (layers.h) when given it so: the small stride-1
 * planes where they are the faster kernels, an AVX-512 build; and that
 * layout's floats per channel and group of 16 images for it (0 without
 * AVX-512) */
int sparse_conv_reads_lanes(const struct conv_shape *s);
size_t sparse_conv_lanes_group_stride(const struct conv_shape *s);
/* image ranges of the convolution's weight gradient for a thread count */
int sparse_conv_slot_tasks(int threads);

void sparse_linear_forward(int n, const struct sparse_weights *sw, const float *x,
                           const float *w, const float *bias, float *y, int threads);
void sparse_linear_backward(int n, const struct sparse_weights *sw, const float *x,
                            const float *w, const float *dy, float *dx,
                            enum grad_write dx_write, float *dw, float *dbias, int threads);

#endif
