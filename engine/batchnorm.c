/* Batch normalization over the contiguous N*H*W block of each channel. Sums
 * are taken in double so the statistics do not drift with large batches. */
#include "layers.h"

#include <math.h>

void batchnorm_forward_train(int channels, size_t m, const float *x, const float *gamma,
                             const float *beta, float *y, float *saved_mean,
                             float *saved_invstd, float *running_mean, float *running_var,
                             float momentum, float eps)
{
#pragma omp parallel for schedule(static)
    for (int c = 0; c < channels; c++) {
        const float *xc = x + (size_t)c * m;
        float *yc = y + (size_t)c * m;
        double sum = 0.0;
        for (size_t i = 0; i < m; i++)
            sum += xc[i];
        const double mean = sum / (double)m;
        double sq = 0.0;
        for (size_t i = 0; i < m; i++) {
            const double d = xc[i] - mean;
            sq += d * d;
        }
        const double var = sq / (double)m;
        const float invstd = (float)(1.0 / sqrt(var + eps));
        const float scale = gamma[c] * invstd, shift = beta[c] - (float)mean * scale;
        for (size_t i = 0; i < m; i++)
            yc[i] = xc[i] * scale + shift;
        saved_mean[c] = (float)mean;
        saved_invstd[c] = invstd;
        const double unbiased = m > 1 ? sq / (double)(m - 1) : var;
        running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
        running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
}

void batchnorm_forward_eval(int channels, size_t m, const float *x, const float *gamma,
                            const float *beta, const float *running_mean,
                            const float *running_var, float eps, float *y)
{
#pragma omp parallel for schedule(static)
    for (int c = 0; c < channels; c++) {
        const float scale = gamma[c] / sqrtf(running_var[c] + eps);
        const float shift = beta[c] - running_mean[c] * scale;
        const float *xc = x + (size_t)c * m;
        float *yc = y + (size_t)c * m;
        for (size_t i = 0; i < m; i++)
            yc[i] = xc[i] * scale + shift;
    }
}

void batchnorm_backward(int channels, size_t m, const float *x, const float *gamma,
                        const float *saved_mean, const float *saved_invstd, const float *dy,
                        float *dx, float *dgamma, float *dbeta)
{
#pragma omp parallel for schedule(static)
    for (int c = 0; c < channels; c++) {
        const float *xc = x + (size_t)c * m, *dyc = dy + (size_t)c * m;
        const float mean = saved_mean[c], invstd = saved_invstd[c];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (size_t i = 0; i < m; i++) {
            sum_dy += dyc[i];
            sum_dy_xhat += dyc[i] * ((xc[i] - mean) * invstd);
        }
        dgamma[c] += (float)sum_dy_xhat;
        dbeta[c] += (float)sum_dy;
        if (!dx)
            continue;
        float *dxc = dx + (size_t)c * m;
        const float k = gamma[c] * invstd;
        const float mean_dy = (float)(sum_dy / (double)m);
        const float mean_dy_xhat = (float)(sum_dy_xhat / (double)m);
        for (size_t i = 0; i < m; i++) {
            const float xhat = (xc[i] - mean) * invstd;
            dxc[i] += k * (dyc[i] - mean_dy - xhat * mean_dy_xhat);
        }
    }
}
