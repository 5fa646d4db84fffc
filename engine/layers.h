/* Layer kernels: one forward and one backward per layer, on raw float arrays.
 *
 * Activation layout is C x N x H x W ("CNHW"): channel-major, then batch. A
 * convolution over the whole batch is then one GEMM, W[Cout x CKK] x
 * col[CKK x N*H*W], whose result is already the next layer's input, and batch
 * norm reduces over one contiguous block per channel. A fully connected layer
 * sees [features x N], i.e. CNHW with H = W = 1.
 *
 * Conventions: forward overwrites its output. Backward ACCUMULATES (+=) into
 * input gradients and parameter gradients, so a tensor read by two layers (a
 * residual branch) collects both contributions; callers zero the gradient
 * buffers once per step. The kernels that take a grad_write may instead
 * store (GRAD_SET) an input gradient: the first contribution to a buffer then
 * needs no zeroing beforehand (a memory pass fewer). Any dx may be NULL when
 * no gradient is wanted. */
#ifndef DSRBENCH_LAYERS_H
#define DSRBENCH_LAYERS_H
#include <stddef.h>
#include <stdint.h>

enum grad_write {
    GRAD_ADD, /* dx += contribution */
    GRAD_SET, /* dx = contribution */
};

/* An activation in one of the sparse convolutions' zero-bordered layouts
 * (sparse_kernels.h) instead of the plain [channel][image][h][w].
 * Flat (group_stride 0): image b of channel c starts at c * channel_stride +
 * b * (h + pad) * (w + pad), its value (y, x) at row pad + y, column pad + x
 * of that (h + pad) x (w + pad) plane, and everything else is zero
 * (neighbouring rows and images share their borders; the channel's last
 * image is followed by zeros).
 * Lanes (group_stride > 0; AVX-512 builds): images in groups of 16 side by
 * side, image 16 g + l's value (y, x) of channel c at c * channel_stride +
 * g * group_stride + ((pad + y) * (w + 2 pad) + pad + x) * 16 + l, the
 * border around each group's (h + 2 pad) x (w + 2 pad) positions zero, and
 * the lanes of a batch's last group past its last image zero too; 64-byte
 * aligned.
 * Writers write the values only: the borders stay as the buffer was zeroed. */
struct bordered_layout {
    int h, w, pad;
    size_t channel_stride, group_stride;
};

struct conv_shape {
    int batch;
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    int kernel, stride, pad; /* square kernel, symmetric zero padding */
};

/* fills out_h/out_w from the rest; returns 0, or -1 when the output would be empty */
int conv_shape_resolve(struct conv_shape *s);
/* Floats of workspace a convolution needs when up to `threads` threads run
 * it (column buffers, per-task weight-gradient slots, flipped weights). The
 * kernels then use min(threads, omp_get_max_threads()) threads; results
 * depend on `threads` only, not on how many threads actually ran. */
size_t conv_workspace_floats(const struct conv_shape *s, int threads);
/* bias may be NULL */
void conv_forward(const struct conv_shape *s, const float *x, const float *w, const float *bias,
                  float *y, float *workspace, int threads);
void conv_backward(const struct conv_shape *s, const float *x, const float *w, const float *dy,
                   float *dx, enum grad_write dx_write, float *dw, float *dbias, float *workspace,
                   int threads);
/* A convolution fused with the residual add that is the only reader of its
 * output: forward y = conv(x) + r; backward as conv_backward with dy the
 * sum's gradient, which it also passes on to r's gradient dr. */
void conv_residual_forward(const struct conv_shape *s, const float *x, const float *w,
                           const float *bias, const float *r, float *y, float *workspace,
                           int threads);
void conv_residual_backward(const struct conv_shape *s, const float *x, const float *w,
                            const float *dy, float *dx, enum grad_write dx_write, float *dw,
                            float *dbias, float *dr, enum grad_write dr_write, float *workspace,
                            int threads);

/* y[out x n] = w[out x in] * x[in x n] + bias; the workspace holds
 * linear_workspace_floats(in, out) floats */
size_t linear_workspace_floats(int in, int out);
void linear_forward(int n, int in, int out, const float *x, const float *w, const float *bias,
                    float *y, float *workspace);
void linear_backward(int n, int in, int out, const float *x, const float *w, const float *dy,
                     float *dx, enum grad_write dx_write, float *dw, float *dbias,
                     float *workspace);

/* Batch norm over channels; m = N*H*W values per channel. Training uses the
 * biased batch variance to normalize and folds the unbiased one into
 * running_var (PyTorch's convention); saved_* keep what backward needs.
 * The forwards write y plainly when y_layout is NULL, else in that bordered
 * layout (values only; m = images * h * w). */
void batchnorm_forward_train(int channels, size_t m, const float *x, const float *gamma,
                             const float *beta, float *y, float *saved_mean,
                             float *saved_invstd, float *running_mean, float *running_var,
                             float momentum, float eps, const struct bordered_layout *y_layout);
void batchnorm_forward_eval(int channels, size_t m, const float *x, const float *gamma,
                            const float *beta, const float *running_mean,
                            const float *running_var, float eps, float *y,
    const struct bordered_layout *y_layout);
void batchnorm_backward(int channels, size_t m, const float *x, const float *gamma,
                        const float *saved_mean, const float *saved_invstd, const float *dy,
                        float *dx, enum grad_write dx_write, float *dgamma, float *dbeta);
/* The same with a ReLU on the output, y = max(0, bn(x)), in the same pass;
 * backward takes the ReLU output's gradient (and beta, to recompute where
 * the ReLU's input was positive). */
void batchnorm_relu_forward_train(int channels, size_t m, const float *x, const float *gamma,
                                  const float *beta, float *y, float *saved_mean,
                                  float *saved_invstd, float *running_mean, float *running_var,
                                  float momentum, float eps,
                                  const struct bordered_layout *y_layout);
void batchnorm_relu_forward_eval(int channels, size_t m, const float *x, const float *gamma,
                                 const float *beta, const float *running_mean,
                                 const float *running_var, float eps, float *y,
    const struct bordered_layout *y_layout);
void batchnorm_relu_backward(int channels, size_t m, const float *x, const float *gamma,
                             const float *beta, const float *saved_mean,
                             const float *saved_invstd, const float *dy, float *dx,
                             enum grad_write dx_write, float *dgamma, float *dbeta);

void relu_forward(size_t count, const float *x, float *y);
/* uses the forward output: dx += dy where y > 0 */
void relu_backward(size_t count, const float *y, const float *dy, float *dx);

/* Rows of a [rows x row_len] tensor (a CNHW tensor's channels, a linear
 * layer's features): sums[r] += the sum of row r, in double (the bias
 * gradients of convolutions and linear layers, dense and sparse); and
 * dst[r][offset, offset + n) = src's (GRAD_SET) or += it (a fused residual
 * add's gradient, a residual into a convolution's output). */
void sum_rows_into(int rows, size_t row_len, const float *x, float *sums);
void pass_rows(int rows, size_t row_len, size_t offset, size_t n, const float *src, float *dst,
               enum grad_write write);

void add_forward(size_t count, const float *a, const float *b, float *y);
void add_backward(size_t count, const float *dy, float *da, enum grad_write da_write, float *db,
                  enum grad_write db_write);

/* Pooling works per plane (planes = C*N, each in_h x in_w); padding counts as
 * -inf for max pooling. Average pooling has no padding. */
struct pool_shape {
    int planes, in_h, in_w, out_h, out_w, kernel, stride, pad;
};
int pool_shape_resolve(struct pool_shape *s);
/* argmax[out] keeps the winning input offset within the plane for backward */
void maxpool_forward(const struct pool_shape *s, const float *x, float *y, int32_t *argmax);
void maxpool_backward(const struct pool_shape *s, const int32_t *argmax, const float *dy,
                      float *dx);
void avgpool_forward(const struct pool_shape *s, const float *x, float *y);
void avgpool_backward(const struct pool_shape *s, const float *dy, float *dx);
/* mean over each whole plane of hw values: (C, N, H, W) -> (C, N, 1, 1) */
void global_avgpool_forward(size_t planes, int hw, const float *x, float *y);
void global_avgpool_backward(size_t planes, int hw, const float *dy, float *dx);

/* CNHW (c, n, h, w) -> [c*h*w x n], the feature order PyTorch's flatten gives */
void flatten_forward(int c, int n, int hw, const float *x, float *y);
void flatten_backward(int c, int n, int hw, const float *dy, float *dx);

/* Mean softmax cross-entropy over the batch. logits are [classes x n];
 * writes dlogits (overwrites, already divided by n) when not NULL and the
 * number of correct arg-max predictions into *correct when not NULL. */
double softmax_cross_entropy(int n, int classes, const float *logits, const int32_t *labels,
                             float *dlogits, int *correct);

#endif
