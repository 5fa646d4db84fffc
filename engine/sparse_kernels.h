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
 * copies of the planes (split into phases for strides; sparse_conv_flat.c).
 * The input
 * gradient runs the same scheme over the transpose (per input channel), and
 * the weight gradient takes, for every active weight, the dot product of the
 * output-gradient plane with the shifted input plane. Work is split over
 * images; weight-gradient partial sums of sw->slot_tasks image ranges are
 * added in range order, so results depend on slot_tasks, not on scheduling. */
#ifndef DSRBENCH_SPARSE_KERNELS_H
#define DSRBENCH_SPARSE_KERNELS_H
#include "layers.h"
#include "sparse_weights.h"

/* residual and bias may be NULL; y = conv(x) + bias (+ residual) */
void sparse_conv_forward(const struct conv_shape *s, struct sparse_weights *sw,
                         const float *x, const float *w, const float *bias,
                         const float *residual, float *y, int threads);
/* as conv_residual_backward (dr NULL: conv_backward) */
void sparse_conv_backward(const struct conv_shape *s, struct sparse_weights *sw, const float *x,
                          const float *w, const float *dy, float *dx, enum grad_write dx_write,
                          float *dw, float *dbias, float *dr, enum grad_write dr_write,
                          int threads);
/* image ranges of the convolution's weight gradient for a thread count */
int sparse_conv_slot_tasks(int threads);

void sparse_linear_forward(int n, const struct sparse_weights *sw, const float *x,
                           const float *w, const float *bias, float *y, int threads);
void sparse_linear_backward(int n, const struct sparse_weights *sw, const float *x,
                            const float *w, const float *dy, float *dx,
                            enum grad_write dx_write, float *dw, float *dbias, int threads);

#endif
