/* 2-D convolution as im2col + one cblas_sgemm over the whole batch (CNHW). */
#include "layers.h"

#include <cblas.h>
#include <string.h>

int conv_shape_resolve(struct conv_shape *s)
{
    if (s->kernel < 1 || s->stride < 1 || s->pad < 0)
        return -1;
    s->out_h = (s->in_h + 2 * s->pad - s->kernel) / s->stride + 1;
    s->out_w = (s->in_w + 2 * s->pad - s->kernel) / s->stride + 1;
    return (s->in_h + 2 * s->pad < s->kernel || s->in_w + 2 * s->pad < s->kernel) ? -1 : 0;
}

/* A 1x1 stride-1 unpadded convolution reads its input as the column matrix. */
static int reads_input_directly(const struct conv_shape *s)
{
    return s->kernel == 1 && s->stride == 1 && s->pad == 0;
}

size_t conv_workspace_floats(const struct conv_shape *s)
{
    if (reads_input_directly(s))
        return 0;
    return (size_t)s->in_c * s->kernel * s->kernel * s->batch * s->out_h * s->out_w;
}

/* col[(ci, kh, kw)][(n, oh, ow)] = x[ci][n][oh*stride - pad + kh][ow*stride - pad + kw] */
static void im2col(const struct conv_shape *s, const float *x, float *col)
{
    const int k = s->kernel, rows = s->in_c * k * k;
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    const size_t row_len = (size_t)s->batch * out_plane;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        const int ci = r / (k * k), kh = r / k % k, kw = r % k;
        float *dst = col + (size_t)r * row_len;
        for (int n = 0; n < s->batch; n++) {
            const float *plane = x + ((size_t)ci * s->batch + n) * in_plane;
            for (int oh = 0; oh < s->out_h; oh++) {
                const int ih = oh * s->stride - s->pad + kh;
                float *out = dst + (size_t)n * out_plane + (size_t)oh * s->out_w;
                if (ih < 0 || ih >= s->in_h) {
                    memset(out, 0, sizeof(float) * (size_t)s->out_w);
                    continue;
                }
                const float *in_row = plane + (size_t)ih * s->in_w;
                for (int ow = 0; ow < s->out_w; ow++) {
                    const int iw = ow * s->stride - s->pad + kw;
                    out[ow] = (iw >= 0 && iw < s->in_w) ? in_row[iw] : 0.0f;
                }
            }
        }
    }
}

/* dx += col2im(col); one thread per input channel so no two threads write the same plane */
static void col2im_add(const struct conv_shape *s, const float *col, float *dx)
{
    const int k = s->kernel;
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    const size_t row_len = (size_t)s->batch * out_plane;
#pragma omp parallel for schedule(static)
    for (int ci = 0; ci < s->in_c; ci++) {
        for (int kh = 0; kh < k; kh++) {
            for (int kw = 0; kw < k; kw++) {
                const float *src = col + ((size_t)(ci * k + kh) * k + kw) * row_len;
                for (int n = 0; n < s->batch; n++) {
                    float *plane = dx + ((size_t)ci * s->batch + n) * in_plane;
                    for (int oh = 0; oh < s->out_h; oh++) {
                        const int ih = oh * s->stride - s->pad + kh;
                        if (ih < 0 || ih >= s->in_h)
                            continue;
                        const float *g = src + (size_t)n * out_plane + (size_t)oh * s->out_w;
                        float *in_row = plane + (size_t)ih * s->in_w;
                        for (int ow = 0; ow < s->out_w; ow++) {
                            const int iw = ow * s->stride - s->pad + kw;
                            if (iw >= 0 && iw < s->in_w)
                                in_row[iw] += g[ow];
                        }
                    }
                }
            }
        }
    }
}

static void add_bias_rows(int rows, size_t row_len, const float *bias, float *y)
{
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++)
        for (size_t j = 0; j < row_len; j++)
            y[(size_t)r * row_len + j] += bias[r];
}

static void sum_rows_into(int rows, size_t row_len, const float *dy, float *dbias)
{
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        double acc = 0.0;
        for (size_t j = 0; j < row_len; j++)
            acc += dy[(size_t)r * row_len + j];
        dbias[r] += (float)acc;
    }
}

void conv_forward(const struct conv_shape *s, const float *x, const float *w, const float *bias,
                  float *y, float *workspace)
{
    const int ckk = s->in_c * s->kernel * s->kernel;
    const int cols = s->batch * s->out_h * s->out_w;
    const float *col = x;
    if (!reads_input_directly(s)) {
        im2col(s, x, workspace);
        col = workspace;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->out_c, cols, ckk, 1.0f, w, ckk,
                col, cols, 0.0f, y, cols);
    if (bias)
        add_bias_rows(s->out_c, (size_t)cols, bias, y);
}

void conv_backward(const struct conv_shape *s, const float *x, const float *w, const float *dy,
                   float *dx, float *dw, float *dbias, float *workspace)
{
    const int ckk = s->in_c * s->kernel * s->kernel;
    const int cols = s->batch * s->out_h * s->out_w;
    const int direct = reads_input_directly(s);
    if (dbias)
        sum_rows_into(s->out_c, (size_t)cols, dy, dbias);
    if (dw) {
        const float *col = x;
        if (!direct) {
            im2col(s, x, workspace);
            col = workspace;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->out_c, ckk, cols, 1.0f, dy, cols,
                    col, cols, 1.0f, dw, ckk);
    }
    if (!dx)
        return;
    if (direct) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ckk, cols, s->out_c, 1.0f, w, ckk,
                    dy, cols, 1.0f, dx, cols);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ckk, cols, s->out_c, 1.0f, w, ckk, dy,
                cols, 0.0f, workspace, cols);
    col2im_add(s, workspace, dx);
}
