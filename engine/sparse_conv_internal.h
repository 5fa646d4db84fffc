/* Shared by sparse_conv.c (entry points, helpers) and sparse_conv_flat.c
 * (the kernels). */
#ifndef DSRBENCH_SPARSE_CONV_INTERNAL_H
#define DSRBENCH_SPARSE_CONV_INTERNAL_H
#include "sparse_kernels.h"

/* threads for a pass: one for small layers (parallel.h) */
int sparse_conv_threads(const struct conv_shape *s, const struct sparse_weights *sw,
                        int threads);
/* images [first, first + count) of task t: the batch split as evenly as it goes */
void sparse_conv_task_images(int batch, int tasks, int t, int *first, int *count);
/* dr gets the fused sum's gradient dy: image n's planes */
void sparse_conv_residual_gradient(const struct conv_shape *s, const float *dy, float *dr,
                                   enum grad_write dr_write, int n);
/* dw += the tasks' slots in task order, whichever thread ran which task;
 * called by every thread of a parallel region */
void sparse_conv_reduce_slots(const struct sparse_weights *sw, int tasks, float *dw);

void sparse_conv_flat_forward(const struct conv_shape *s, struct sparse_weights *sw,
                              const float *x, const float *w, const float *bias,
                              const float *residual, float *y, int threads);
void sparse_conv_flat_backward(const struct conv_shape *s, struct sparse_weights *sw,
                               const float *x, const float *w, const float *dy, float *dx,
                               enum grad_write dx_write, float *dw, float *dr,
                               enum grad_write dr_write, int threads);

#endif
