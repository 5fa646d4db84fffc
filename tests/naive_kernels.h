/* Reference kernels for the tests: the definition of each layer's forward
 * pass written as plain loops over output positions, accumulated in double,
 * with no im2col, no BLAS and no threads. The fast kernels of layers.h must
 * agree with them to float tolerance. Same layouts and shapes as layers.h. */
#ifndef DSRBENCH_TESTS_NAIVE_KERNELS_H
#define DSRBENCH_TESTS_NAIVE_KERNELS_H
#include <stddef.h>
#include <stdint.h>

#include "layers.h"

void naive_conv_forward(const struct conv_shape *s, const float *x, const float *w,
                        const float *bias, float *y);
/* The convolution's backward by its definition (the adjoint of forward at
 * every output position), adding to dx, dw and dbias as layers.h's kernels
 * do; dx and dbias may be NULL. */
void naive_conv_backward(const struct conv_shape *s, const float *x, const float *w,
                         const float *dy, float *dx, float *dw, float *dbias);
void naive_linear_forward(int n, int in, int out, const float *x, const float *w,
                          const float *bias, float *y);
/* y, the saved batch statistics, and running_mean / running_var updated in place */
void naive_batchnorm_forward_train(int channels, size_t m, const float *x, const float *gamma,
                                   const float *beta, float momentum, float eps, float *y,
                                   float *saved_mean, float *saved_invstd, float *running_mean,
                                   float *running_var);
void naive_batchnorm_forward_eval(int channels, size_t m, const float *x, const float *gamma,
                                  const float *beta, const float *running_mean,
                                  const float *running_var, float eps, float *y);
void naive_relu_forward(size_t count, const float *x, float *y);
void naive_add_forward(size_t count, const float *a, const float *b, float *y);
void naive_maxpool_forward(const struct pool_shape *s, const float *x, float *y);
void naive_avgpool_forward(const struct pool_shape *s, const float *x, float *y);
void naive_global_avgpool_forward(size_t planes, int hw, const float *x, float *y);
void naive_flatten_forward(int c, int n, int hw, const float *x, float *y);
/* mean loss over the batch; the count of arg-max hits into *correct */
double naive_softmax_cross_entropy(int n, int classes, const float *logits,
                                   const int32_t *labels, int *correct);

#endif
