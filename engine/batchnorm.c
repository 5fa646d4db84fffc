/* Batch normalization over the contiguous N*H*W block of each channel, with
 * or without a ReLU applied to its output in the same pass (a network fuses
 * the ReLU that is the only reader of a batch norm: one memory pass fewer
 * forward and two fewer backward). One channel is one task; a
 * channel's block (up to a few hundred KiB) stays in cache across the passes
 * over it. */
#include "layers.h"
#include "lanes.h"
#include "parallel.h"

#include <math.h>

/* Sums run in float over BLOCK values and are folded into double after
 * each block, so long channels lose no precision. The forward's are simd
 * reductions: written as LANES float accumulators (as the backward's still
 * are) the compiler shuffled them and the forward took 2.7 instead of
 * 1.1 ms on a 32 x 102400 batch; the backward's measured slower as a simd
 * reduction (3.5 against 2.9 ms) and stay as they were. */
#define BLOCK 2048
#define LANES 16

static double channel_sum(const float *x, size_t m)
{
    double total = 0.0;
    for (size_t b = 0; b < m; b += BLOCK) {
        const size_t end = b + BLOCK < m ? b + BLOCK : m;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (size_t i = b; i < end; i++)
            acc += x[i];
        total += acc;
    }
    return total;
}

/* The mean and the sum of squared deviations of x[0..m) in one pass: sums
 * of x - shift and of its square, shift the mean of the first block (close
 * to the channel's mean, so S2 - S1^2/m does not cancel). One pass fewer
 * over the channel than mean first and deviations second; the first pass
 * over a channel reads it from memory, the later ones from cache. */
static void channel_moments(const float *x, size_t m, double *mean, double *squared_deviation)
{
    const size_t first = m < BLOCK ? m : BLOCK;
    const float shift = (float)(channel_sum(x, first) / (double)first);
    double total = 0.0, total_sq = 0.0;
    for (size_t b = 0; b < m; b += BLOCK) {
        const size_t end = b + BLOCK < m ? b + BLOCK : m;
        float acc = 0.0f, acc_sq = 0.0f;
#pragma omp simd reduction(+ : acc, acc_sq)
        for (size_t i = b; i < end; i++) {
            const float d = x[i] - shift;
            acc += d;
            acc_sq += d * d;
        }
        total += acc;
        total_sq += acc_sq;
    }
    const double deviation = total / (double)m;
    *mean = shift + deviation;
    const double sq = total_sq - total * deviation;
    *squared_deviation = sq > 0.0 ? sq : 0.0;
}

/* The gradient reaching the batch norm's output: with relu, dy where the
 * ReLU's input x*scale + shift was positive (recomputed with forward's exact
 * float expression, so the decision is the same), else dy. */
static inline float passed(float dy, float x, float scale, float shift, int relu)
{
    return !relu || x * scale + shift > 0.0f ? dy : 0.0f;
}

/* sum of g and of g * xhat over the channel, g = passed(dy) */
static inline void gradient_sums(const float *x, const float *dy, size_t m, float mean,
                                 float invstd, float scale, float shift, int relu, double *sum_g,
                                 double *sum_g_xhat)
{
    double total_g = 0.0, total_gx = 0.0;
    for (size_t b = 0; b < m; b += BLOCK) {
        const size_t end = b + BLOCK < m ? b + BLOCK : m;
        float acc_g[LANES] = {0}, acc_gx[LANES] = {0};
        size_t i = b;
        for (; i + LANES <= end; i += LANES)
            for (int j = 0; j < LANES; j++) {
                const float g = passed(dy[i + j], x[i + j], scale, shift, relu);
                acc_g[j] += g;
                acc_gx[j] += g * ((x[i + j] - mean) * invstd);
            }
        for (; i < end; i++) {
            const float g = passed(dy[i], x[i], scale, shift, relu);
            acc_g[0] += g;
            acc_gx[0] += g * ((x[i] - mean) * invstd);
        }
        for (int j = 0; j < LANES; j++) {
            total_g += acc_g[j];
            total_gx += acc_gx[j];
        }
    }
    *sum_g = total_g;
    *sum_g_xhat = total_gx;
}

/* to[i] = from[i] * scale + shift (then the ReLU) for i < n */
static inline void normalize_run(const float *from, float *to, size_t n, float scale,
                                 float shift, int relu)
{
    for (size_t i = 0; i < n; i++) {
        const float v = from[i] * scale + shift;
        to[i] = relu && v <= 0.0f ? 0.0f : v;
    }
}

/* a channel's output in the lanes layout (layers.h) from its plain input
 * xc of m / (h w) images: 16 positions of 16 images at a time, normalized,
 * transposed (lanes.h) and stored; images past the batch zero */
static void normalize_lanes(const float *xc, size_t m, float scale, float shift, int relu,
                            float *yc, const struct bordered_layout *yl)
{
    const size_t hw = (size_t)yl->h * yl->w;
    const int batch = (int)(m / hw), wp = yl->w + 2 * yl->pad, pad = yl->pad;
#if defined(__AVX512F__)
    const __m512 k = _mm512_set1_ps(scale), b = _mm512_set1_ps(shift), zero = _mm512_setzero_ps();
    for (int n0 = 0; n0 < batch; n0 += LANES) {
        const int lanes = lanes_in_group(batch, n0);
        float *group = yc + (size_t)(n0 / LANES) * yl->group_stride;
        for (size_t p0 = 0; p0 < hw; p0 += LANES) {
            const int count = hw - p0 < LANES ? (int)(hw - p0) : LANES;
            const __mmask16 mask = (__mmask16)((1u << count) - 1);
            __m512 r[LANES];
            for (int l = 0; l < LANES; l++)
                r[l] = zero;
            for (int l = 0; l < lanes; l++) {
                /* normalize_run's expression: a multiply, then an add */
                const __m512 v = _mm512_add_ps(
                    _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, xc + (n0 + l) * hw + p0), k), b);
                r[l] = relu ? _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LE_OQ), zero)
                            : v;
            }
            transpose16(r);
            lanes_store_positions(r, count, p0, yl->w, wp, pad, group);
        }
    }
#else
    for (int n = 0; n < batch; n++) {
        float *group = yc + (size_t)(n / LANES) * yl->group_stride + n % LANES;
        for (size_t p = 0; p < hw; p++) {
            const float v = xc[n * hw + p] * scale + shift;
            group[((size_t)(pad + p / yl->w) * wp + pad + p % yl->w) * LANES] =
                relu && v <= 0.0f ? 0.0f : v;
        }
    }
    for (int n = batch; n % LANES; n++) /* the last group's lanes past the batch */
        for (size_t p = 0; p < hw; p++)
            yc[(size_t)(n / LANES) * yl->group_stride +
               ((size_t)(pad + p / yl->w) * wp + pad + p % yl->w) * LANES + n % LANES] = 0.0f;
#endif
}

/* channel c's output from its input xc: plainly at y + c * m, or where the
 * bordered layout puts them (flat: row by row; lanes: transposed) */
static inline void normalize_channel(const float *xc, size_t m, float scale, float shift,
                                     int relu, float *y, int c, const struct bordered_layout *yl)
{
    if (!yl) {
        normalize_run(xc, y + (size_t)c * m, m, scale, shift, relu);
        return;
    }
    if (yl->group_stride) {
        normalize_lanes(xc, m, scale, shift, relu, y + c * yl->channel_stride, yl);
        return;
    }
    const size_t hw = (size_t)yl->h * yl->w, wq = (size_t)yl->w + yl->pad;
    const size_t pq = ((size_t)yl->h + yl->pad) * wq;
    for (size_t b = 0; b < m / hw; b++)
        for (int r = 0; r < yl->h; r++)
            normalize_run(xc + b * hw + (size_t)r * yl->w,
                          y + c * yl->channel_stride + b * pq + (yl->pad + r) * wq + yl->pad,
                          (size_t)yl->w, scale, shift, relu);
}

static inline void forward_train(int channels, size_t m, const float *x, const float *gamma,
                                 const float *beta, float *y, float *saved_mean,
                                 float *saved_invstd, float *running_mean, float *running_var,
                                 float momentum, float eps, int relu,
                                 const struct bordered_layout *yl)
{
#pragma omp parallel for schedule(dynamic, 1) if (channels * m >= PARALLEL_MIN_VALUES)
    for (int c = 0; c < channels; c++) {
        const float *xc = x + (size_t)c * m;
        double mean, sq;
        channel_moments(xc, m, &mean, &sq);
        const double var = sq / (double)m;
        const float invstd = (float)(1.0 / sqrt(var + eps));
        const float scale = gamma[c] * invstd, shift = beta[c] - (float)mean * scale;
        normalize_channel(xc, m, scale, shift, relu, y, c, yl);
        saved_mean[c] = (float)mean;
        saved_invstd[c] = invstd;
        const double unbiased = m > 1 ? sq / (double)(m - 1) : var;
        running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
        running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
}

static inline void forward_eval(int channels, size_t m, const float *x, const float *gamma,
                                const float *beta, const float *running_mean,
                                const float *running_var, float eps, float *y, int relu,
                                const struct bordered_layout *yl)
{
#pragma omp parallel for schedule(dynamic, 1) if (channels * m >= PARALLEL_MIN_VALUES)
    for (int c = 0; c < channels; c++) {
        const float scale = gamma[c] / sqrtf(running_var[c] + eps);
        const float shift = beta[c] - running_mean[c] * scale;
        normalize_channel(x + (size_t)c * m, m, scale, shift, relu, y, c, yl);
    }
}

static inline void backward(int channels, size_t m, const float *x, const float *gamma,
                            const float *beta, const float *saved_mean,
                            const float *saved_invstd, const float *dy, float *dx,
                            enum grad_write dx_write, float *dgamma, float *dbeta, int relu)
{
#pragma omp parallel for schedule(dynamic, 1) if (channels * m >= PARALLEL_MIN_VALUES)
    for (int c = 0; c < channels; c++) {
        const float *xc = x + (size_t)c * m, *dyc = dy + (size_t)c * m;
        const float mean = saved_mean[c], invstd = saved_invstd[c];
        const float scale = relu ? gamma[c] * invstd : 0.0f;
        const float shift = relu ? beta[c] - mean * scale : 0.0f;
        double sum_dy, sum_dy_xhat;
        gradient_sums(xc, dyc, m, mean, invstd, scale, shift, relu, &sum_dy, &sum_dy_xhat);
        dgamma[c] += (float)sum_dy_xhat;
        dbeta[c] += (float)sum_dy;
        if (!dx)
            continue;
        float *dxc = dx + (size_t)c * m;
        const float k = gamma[c] * invstd;
        const float mean_dy = (float)(sum_dy / (double)m);
        const float mean_dy_xhat = (float)(sum_dy_xhat / (double)m);
        if (dx_write == GRAD_SET)
            for (size_t i = 0; i < m; i++) {
                const float g = passed(dyc[i], xc[i], scale, shift, relu);
                const float xhat = (xc[i] - mean) * invstd;
                dxc[i] = k * (g - mean_dy - xhat * mean_dy_xhat);
            }
        else
            for (size_t i = 0; i < m; i++) {
                const float g = passed(dyc[i], xc[i], scale, shift, relu);
                const float xhat = (xc[i] - mean) * invstd;
                dxc[i] += k * (g - mean_dy - xhat * mean_dy_xhat);
            }
    }
}

void batchnorm_forward_train(int channels, size_t m, const float *x, const float *gamma,
                             const float *beta, float *y, float *saved_mean,
                             float *saved_invstd, float *running_mean, float *running_var,
                             float momentum, float eps, const struct bordered_layout *y_layout)
{
    forward_train(channels, m, x, gamma, beta, y, saved_mean, saved_invstd, running_mean,
                  running_var, momentum, eps, 0, y_layout);
}

void batchnorm_relu_forward_train(int channels, size_t m, const float *x, const float *gamma,
                                  const float *beta, float *y, float *saved_mean,
                                  float *saved_invstd, float *running_mean, float *running_var,
                                  float momentum, float eps, const struct bordered_layout *y_layout)
{
    forward_train(channels, m, x, gamma, beta, y, saved_mean, saved_invstd, running_mean,
                  running_var, momentum, eps, 1, y_layout);
}

void batchnorm_forward_eval(int channels, size_t m, const float *x, const float *gamma,
                            const float *beta, const float *running_mean,
                            const float *running_var, float eps, float *y,
                            const struct bordered_layout *y_layout)
{
    forward_eval(channels, m, x, gamma, beta, running_mean, running_var, eps, y, 0, y_layout);
}

void batchnorm_relu_forward_eval(int channels, size_t m, const float *x, const float *gamma,
                                 const float *beta, const float *running_mean,
                                 const float *running_var, float eps, float *y,
                                 const struct bordered_layout *y_layout)
{
    forward_eval(channels, m, x, gamma, beta, running_mean, running_var, eps, y, 1, y_layout);
}

void batchnorm_backward(int channels, size_t m, const float *x, const float *gamma,
                        const float *saved_mean, const float *saved_invstd, const float *dy,
                        float *dx, enum grad_write dx_write, float *dgamma, float *dbeta)
{
    backward(channels, m, x, gamma, NULL, saved_mean, saved_invstd, dy, dx, dx_write, dgamma,
             dbeta, 0);
}

void batchnorm_relu_backward(int channels, size_t m, const float *x, const float *gamma,
                             const float *beta, const float *saved_mean,
                             const float *saved_invstd, const float *dy, float *dx,
                             enum grad_write dx_write, float *dgamma, float *dbeta)
{
    backward(channels, m, x, gamma, beta, saved_mean, saved_invstd, dy, dx, dx_write, dgamma,
             dbeta, 1);
}
