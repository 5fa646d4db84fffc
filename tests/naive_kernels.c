#include "naive_kernels.h"

#include <math.h>
#include <stdlib.h>

/* index of (c, n, h, w) in a CNHW tensor */
static size_t cnhw(int c, int n, int h, int w, int batch, int height, int width)
{
    return (((size_t)c * batch + n) * height + h) * width + w;
}

static double conv_output(const struct conv_shape *s, const float *x, const float *w, int co,
                          int n, int oh, int ow)
{
    double acc = 0.0;
    for (int ci = 0; ci < s->in_c; ci++) {
        for (int kh = 0; kh < s->kernel; kh++) {
            for (int kw = 0; kw < s->kernel; kw++) {
                const int ih = oh * s->stride - s->pad + kh, iw = ow * s->stride - s->pad + kw;
                if (ih < 0 || ih >= s->in_h || iw < 0 || iw >= s->in_w)
                    continue; /* zero padding */
                const size_t wi = (((size_t)co * s->in_c + ci) * s->kernel + kh) * s->kernel + kw;
                acc += (double)w[wi] * x[cnhw(ci, n, ih, iw, s->batch, s->in_h, s->in_w)];
            }
        }
    }
    return acc;
}

void naive_conv_forward(const struct conv_shape *s, const float *x, const float *w,
                        const float *bias, float *y)
{
    for (int co = 0; co < s->out_c; co++)
        for (int n = 0; n < s->batch; n++)
            for (int oh = 0; oh < s->out_h; oh++)
                for (int ow = 0; ow < s->out_w; ow++)
                    y[cnhw(co, n, oh, ow, s->batch, s->out_h, s->out_w)] =
                        (float)(conv_output(s, x, w, co, n, oh, ow) + (bias ? bias[co] : 0.0));
}

void naive_conv_backward(const struct conv_shape *s, const float *x, const float *w,
                         const float *dy, float *dx, float *dw, float *dbias)
{
    const size_t nx = (size_t)s->in_c * s->batch * s->in_h * s->in_w;
    const size_t nw = (size_t)s->out_c * s->in_c * s->kernel * s->kernel;
    double *gx = calloc(nx, sizeof *gx), *gw = calloc(nw, sizeof *gw);
    if (!gx || !gw)
        abort();
    for (int co = 0; co < s->out_c; co++) {
        double gb = 0.0;
        for (int n = 0; n < s->batch; n++)
            for (int oh = 0; oh < s->out_h; oh++)
                for (int ow = 0; ow < s->out_w; ow++) {
                    const double g = dy[cnhw(co, n, oh, ow, s->batch, s->out_h, s->out_w)];
                    gb += g;
                    for (int ci = 0; ci < s->in_c; ci++)
                        for (int kh = 0; kh < s->kernel; kh++)
                            for (int kw = 0; kw < s->kernel; kw++) {
                                const int ih = oh * s->stride - s->pad + kh;
                                const int iw = ow * s->stride - s->pad + kw;
                                if (ih < 0 || ih >= s->in_h || iw < 0 || iw >= s->in_w)
                                    continue;
                                const size_t xi = cnhw(ci, n, ih, iw, s->batch, s->in_h, s->in_w);
                                const size_t wi =
                                    (((size_t)co * s->in_c + ci) * s->kernel + kh) * s->kernel + kw;
                                gx[xi] += g * w[wi];
                                gw[wi] += g * x[xi];
                            }
                }
        if (dbias)
            dbias[co] += (float)gb;
    }
    for (size_t i = 0; dx && i < nx; i++)
        dx[i] += (float)gx[i];
    for (size_t i = 0; i < nw; i++)
        dw[i] += (float)gw[i];
    free(gx);
    free(gw);
}

void naive_linear_forward(int n, int in, int out, const float *x, const float *w,
                          const float *bias, float *y)
{
    for (int o = 0; o < out; o++) {
        for (int j = 0; j < n; j++) {
            double acc = bias ? bias[o] : 0.0;
            for (int i = 0; i < in; i++)
                acc += (double)w[(size_t)o * in + i] * x[(size_t)i * n + j];
            y[(size_t)o * n + j] = (float)acc;
        }
    }
}

static double mean_of(const float *x, size_t m)
{
    double sum = 0.0;
    for (size_t i = 0; i < m; i++)
        sum += x[i];
    return sum / (double)m;
}

static double squared_deviation(const float *x, size_t m, double mean)
{
    double sq = 0.0;
    for (size_t i = 0; i < m; i++)
        sq += (x[i] - mean) * (x[i] - mean);
    return sq;
}

void naive_batchnorm_forward_train(int channels, size_t m, const float *x, const float *gamma,
                                   const float *beta, float momentum, float eps, float *y,
                                   float *saved_mean, float *saved_invstd, float *running_mean,
                                   float *running_var)
{
    for (int c = 0; c < channels; c++) {
        const float *xc = x + (size_t)c * m;
        const double mean = mean_of(xc, m), sq = squared_deviation(xc, m, mean);
        const double invstd = 1.0 / sqrt(sq / (double)m + eps); /* biased variance */
        for (size_t i = 0; i < m; i++)
            y[(size_t)c * m + i] = (float)(gamma[c] * (xc[i] - mean) * invstd + beta[c]);
        saved_mean[c] = (float)mean;
        saved_invstd[c] = (float)invstd;
        running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mean);
        running_var[c] = (float)((1.0 - momentum) * running_var[c] +
                                 momentum * sq / (double)(m - 1)); /* unbiased variance */
    }
}

void naive_batchnorm_forward_eval(int channels, size_t m, const float *x, const float *gamma,
                                  const float *beta, const float *running_mean,
                                  const float *running_var, float eps, float *y)
{
    for (int c = 0; c < channels; c++)
        for (size_t i = 0; i < m; i++)
            y[(size_t)c * m + i] =
                (float)(gamma[c] * (x[(size_t)c * m + i] - running_mean[c]) /
                            sqrt((double)running_var[c] + eps) +
                        beta[c]);
}

void naive_relu_forward(size_t count, const float *x, float *y)
{
    for (size_t i = 0; i < count; i++)
        y[i] = fmaxf(x[i], 0.0f);
}

void naive_add_forward(size_t count, const float *a, const float *b, float *y)
{
    for (size_t i = 0; i < count; i++)
        y[i] = a[i] + b[i];
}

/* padding never wins a max: it is skipped, which is max pooling over -inf padding */
static float window_max(const struct pool_shape *s, const float *plane, int oh, int ow)
{
    float best = -INFINITY;
    for (int kh = 0; kh < s->kernel; kh++) {
        for (int kw = 0; kw < s->kernel; kw++) {
            const int ih = oh * s->stride - s->pad + kh, iw = ow * s->stride - s->pad + kw;
            if (ih >= 0 && ih < s->in_h && iw >= 0 && iw < s->in_w)
                best = fmaxf(best, plane[(size_t)ih * s->in_w + iw]);
        }
    }
    return best;
}

static double window_mean(const struct pool_shape *s, const float *plane, int oh, int ow)
{
    double sum = 0.0;
    for (int kh = 0; kh < s->kernel; kh++)
        for (int kw = 0; kw < s->kernel; kw++)
            sum += plane[(size_t)(oh * s->stride + kh) * s->in_w + ow * s->stride + kw];
    return sum / (s->kernel * s->kernel);
}

void naive_maxpool_forward(const struct pool_shape *s, const float *x, float *y)
{
    for (int p = 0; p < s->planes; p++)
        for (int oh = 0; oh < s->out_h; oh++)
            for (int ow = 0; ow < s->out_w; ow++)
                y[((size_t)p * s->out_h + oh) * s->out_w + ow] =
                    window_max(s, x + (size_t)p * s->in_h * s->in_w, oh, ow);
}

void naive_avgpool_forward(const struct pool_shape *s, const float *x, float *y)
{
    for (int p = 0; p < s->planes; p++)
        for (int oh = 0; oh < s->out_h; oh++)
            for (int ow = 0; ow < s->out_w; ow++)
                y[((size_t)p * s->out_h + oh) * s->out_w + ow] =
                    (float)window_mean(s, x + (size_t)p * s->in_h * s->in_w, oh, ow);
}

void naive_global_avgpool_forward(size_t planes, int hw, const float *x, float *y)
{
    for (size_t p = 0; p < planes; p++)
        y[p] = (float)mean_of(x + p * hw, (size_t)hw);
}

/* walks the output: row f = c * hw + i of the [c*hw x n] matrix is pixel i of channel c */
void naive_flatten_forward(int c, int n, int hw, const float *x, float *y)
{
    for (size_t f = 0; f < (size_t)c * hw; f++) {
        const size_t channel = f / hw, pixel = f % hw;
        for (int j = 0; j < n; j++)
            y[f * n + j] = x[(channel * n + j) * hw + pixel];
    }
}

/* no max subtraction: the tests keep logits small, and this is the textbook formula */
double naive_softmax_cross_entropy(int n, int classes, const float *logits,
                                   const int32_t *labels, int *correct)
{
    double total = 0.0;
    *correct = 0;
    for (int j = 0; j < n; j++) {
        double denom = exp(logits[j]); /* class 0; the loop adds the rest */
        int best = 0;
        for (int k = 1; k < classes; k++) {
            denom += exp(logits[(size_t)k * n + j]);
            if (logits[(size_t)k * n + j] > logits[(size_t)best * n + j])
                best = k;
        }
        total += log(denom) - logits[(size_t)labels[j] * n + j];
        *correct += best == labels[j];
    }
    return total / n;
}
