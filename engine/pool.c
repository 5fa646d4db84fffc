/* Max, average and global average pooling, one plane (channel of one image) at a time. */
#include "layers.h"
#include "parallel.h"

#include <float.h>

int pool_shape_resolve(struct pool_shape *s)
{
    if (s->kernel < 1 || s->stride < 1 || s->pad < 0 || s->pad * 2 > s->kernel ||
        s->in_h + 2 * s->pad < s->kernel || s->in_w + 2 * s->pad < s->kernel)
        return -1;
    s->out_h = (s->in_h + 2 * s->pad - s->kernel) / s->stride + 1;
    s->out_w = (s->in_w + 2 * s->pad - s->kernel) / s->stride + 1;
    return 0;
}

void maxpool_forward(const struct pool_shape *s, const float *x, float *y, int32_t *argmax)
{
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
#pragma omp parallel for schedule(static) if (s->planes * in_plane >= PARALLEL_MIN_VALUES)
    for (int p = 0; p < s->planes; p++) {
        const float *xp = x + (size_t)p * in_plane;
        for (int oh = 0; oh < s->out_h; oh++) {
            for (int ow = 0; ow < s->out_w; ow++) {
                float best = -FLT_MAX;
                int32_t where = -1;
                for (int kh = 0; kh < s->kernel; kh++) {
                    const int ih = oh * s->stride - s->pad + kh;
                    if (ih < 0 || ih >= s->in_h)
                        continue;
                    for (int kw = 0; kw < s->kernel; kw++) {
                        const int iw = ow * s->stride - s->pad + kw;
                        if (iw < 0 || iw >= s->in_w)
                            continue;
                        const float v = xp[ih * s->in_w + iw];
                        if (where < 0 || v > best) {
                            best = v;
                            where = ih * s->in_w + iw;
                        }
                    }
                }
                const size_t o = (size_t)p * out_plane + (size_t)oh * s->out_w + ow;
                y[o] = best;
                argmax[o] = where;
            }
        }
    }
}

void maxpool_backward(const struct pool_shape *s, const int32_t *argmax, const float *dy,
                      float *dx)
{
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
#pragma omp parallel for schedule(static) if (s->planes * in_plane >= PARALLEL_MIN_VALUES)
    for (int p = 0; p < s->planes; p++)
        for (size_t o = 0; o < out_plane; o++)
            dx[(size_t)p * in_plane + argmax[(size_t)p * out_plane + o]] +=
                dy[(size_t)p * out_plane + o];
}

void avgpool_forward(const struct pool_shape *s, const float *x, float *y)
{
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    const float inv = 1.0f / (float)(s->kernel * s->kernel);
#pragma omp parallel for schedule(static) if (s->planes * in_plane >= PARALLEL_MIN_VALUES)
    for (int p = 0; p < s->planes; p++) {
        const float *xp = x + (size_t)p * in_plane;
        for (int oh = 0; oh < s->out_h; oh++) {
            for (int ow = 0; ow < s->out_w; ow++) {
                float acc = 0.0f;
                for (int kh = 0; kh < s->kernel; kh++)
                    for (int kw = 0; kw < s->kernel; kw++)
                        acc += xp[(oh * s->stride + kh) * s->in_w + ow * s->stride + kw];
                y[(size_t)p * out_plane + (size_t)oh * s->out_w + ow] = acc * inv;
            }
        }
    }
}

void avgpool_backward(const struct pool_shape *s, const float *dy, float *dx)
{
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    const float inv = 1.0f / (float)(s->kernel * s->kernel);
#pragma omp parallel for schedule(static) if (s->planes * in_plane >= PARALLEL_MIN_VALUES)
    for (int p = 0; p < s->planes; p++) {
        float *dxp = dx + (size_t)p * in_plane;
        for (int oh = 0; oh < s->out_h; oh++) {
            for (int ow = 0; ow < s->out_w; ow++) {
                const float g = dy[(size_t)p * out_plane + (size_t)oh * s->out_w + ow] * inv;
                for (int kh = 0; kh < s->kernel; kh++)
                    for (int kw = 0; kw < s->kernel; kw++)
                        dxp[(oh * s->stride + kh) * s->in_w + ow * s->stride + kw] += g;
            }
        }
    }
}

void global_avgpool_forward(size_t planes, int hw, const float *x, float *y)
{
#pragma omp parallel for schedule(static) if (planes * hw >= PARALLEL_MIN_VALUES)
    for (size_t p = 0; p < planes; p++) {
        float acc = 0.0f;
        for (int i = 0; i < hw; i++)
            acc += x[p * hw + i];
        y[p] = acc / (float)hw;
    }
}

void global_avgpool_backward(size_t planes, int hw, const float *dy, float *dx)
{
#pragma omp parallel for schedule(static) if (planes * hw >= PARALLEL_MIN_VALUES)
    for (size_t p = 0; p < planes; p++) {
        const float g = dy[p] / (float)hw;
        for (int i = 0; i < hw; i++)
            dx[p * hw + i] += g;
    }
}
