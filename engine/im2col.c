#include "im2col.h"

#include <string.h>

static size_t plane(int h, int w)
{
    return (size_t)h * w;
}

/* One row of a "same" stride-1 column matrix for one image: the input plane
 * shifted by dh rows and dw columns, zero where the shift leaves the plane.
 * One contiguous copy of the whole shifted plane, then the few entries that
 * wrapped across a row end are zeroed: far fewer calls than a copy per row. */
static void shifted_plane(const float *src, float *dst, int h, int w, int dh, int dw)
{
    const int lo = dh < 0 ? -dh : 0, hi = dh > 0 ? h - dh : h; /* output rows inside */
    if (lo >= hi) {
        memset(dst, 0, sizeof(float) * (size_t)h * w);
        return;
    }
    memset(dst, 0, sizeof(float) * (size_t)lo * w);
    memset(dst + (size_t)hi * w, 0, sizeof(float) * (size_t)(h - hi) * w);
    const long offset = (long)dh * w + dw, plane_len = (long)h * w;
    long q0 = (long)lo * w, q1 = (long)hi * w;
    if (q0 + offset < 0)
        q0 = -offset;
    if (q1 + offset > plane_len)
        q1 = plane_len - offset;
    if (q1 > q0)
        memcpy(dst + q0, src + q0 + offset, sizeof(float) * (size_t)(q1 - q0));
    const int edge = dw < 0 ? -dw : dw;
    for (int oh = lo; oh < hi; oh++) {
        float *row = dst + (size_t)oh * w + (dw > 0 ? w - edge : 0);
        for (int j = 0; j < edge && j < w; j++)
            row[j] = 0.0f;
    }
}

/* col[(c, kh, kw)][(n - first, oh, ow)] = x[c][n][oh*stride - pad + kh][ow*stride - pad + kw]
 * for images n in [first, first + count), zero outside the input */
void im2col(const struct patches *p, const float *x, int first, int count, float *col)
{
    const int k = p->kernel, rows = p->channels * k * k;
    const size_t in_plane = plane(p->in_h, p->in_w), out_plane = plane(p->out_h, p->out_w);
    const size_t row_len = (size_t)count * out_plane;
    const int same = p->stride == 1 && p->out_h == p->in_h && p->out_w == p->in_w;
    for (int r = 0; r < rows; r++) {
        const int c = r / (k * k), kh = r / k % k, kw = r % k;
        if (same) {
            for (int n = 0; n < count; n++)
                shifted_plane(x + ((size_t)c * p->batch + first + n) * in_plane,
                              col + (size_t)r * row_len + (size_t)n * out_plane, p->in_h,
                              p->in_w, kh - p->pad, kw - p->pad);
            continue;
        }
        /* output columns whose input column lies inside: [lo, hi) */
        int lo = 0, hi = p->out_w;
        while (lo < hi && lo * p->stride - p->pad + kw < 0)
            lo++;
        while (hi > lo && (hi - 1) * p->stride - p->pad + kw >= p->in_w)
            hi--;
        for (int n = 0; n < count; n++) {
            const float *src = x + ((size_t)c * p->batch + first + n) * in_plane;
            float *dst = col + (size_t)r * row_len + (size_t)n * out_plane;
            for (int oh = 0; oh < p->out_h; oh++, dst += p->out_w) {
                const int ih = oh * p->stride - p->pad + kh;
                if (ih < 0 || ih >= p->in_h) {
                    memset(dst, 0, sizeof(float) * (size_t)p->out_w);
                    continue;
                }
                const float *in_row = src + (size_t)ih * p->in_w - p->pad + kw;
                for (int ow = 0; ow < lo; ow++)
                    dst[ow] = 0.0f;
                for (int ow = lo; ow < hi; ow++)
                    dst[ow] = in_row[ow * p->stride];
                for (int ow = hi; ow < p->out_w; ow++)
                    dst[ow] = 0.0f;
            }
        }
    }
}

/* dx[images first..first+count) += col2im(col), the adjoint of im2col */
void col2im_add(const struct patches *p, const float *col, int first, int count,
                       float *dx)
{
    const int k = p->kernel, rows = p->channels * k * k;
    const size_t in_plane = plane(p->in_h, p->in_w), out_plane = plane(p->out_h, p->out_w);
    const size_t row_len = (size_t)count * out_plane;
    for (int r = 0; r < rows; r++) {
        const int c = r / (k * k), kh = r / k % k, kw = r % k;
        int lo = 0, hi = p->out_w;
        while (lo < hi && lo * p->stride - p->pad + kw < 0)
            lo++;
        while (hi > lo && (hi - 1) * p->stride - p->pad + kw >= p->in_w)
            hi--;
        for (int n = 0; n < count; n++) {
            float *dst = dx + ((size_t)c * p->batch + first + n) * in_plane;
            const float *src = col + (size_t)r * row_len + (size_t)n * out_plane;
            for (int oh = 0; oh < p->out_h; oh++, src += p->out_w) {
                const int ih = oh * p->stride - p->pad + kh;
                if (ih < 0 || ih >= p->in_h)
                    continue;
                float *in_row = dst + (size_t)ih * p->in_w - p->pad + kw;
                for (int ow = lo; ow < hi; ow++)
                    in_row[ow * p->stride] += src[ow];
            }
        }
    }
}

