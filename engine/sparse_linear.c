/* Sparse fully connected layer on [features x batch] activations
 * (sparse_kernels.h): each active weight adds a scaled batch row (forward,
 * input gradient) or takes one dot product of two batch rows (weight
 * gradient). Work splits over output rows (forward, weight gradient) or input
 * rows (input gradient); every value is computed by one thread in a fixed
 * order, so results do not depend on the thread count. */
#include <omp.h>
#include <string.h>

#include "parallel.h"
#include "sparse_kernels.h"

static int threads_for(int n, const struct sparse_weights *sw, int threads)
{
    const int max = omp_get_max_threads();
    if ((long)sw->nnz * n < PARALLEL_MIN_MACS / 4)
        return 1;
    return threads < max ? threads : max;
}

static void axpy(int n, float a, const float *restrict x, float *restrict y)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

static void axpy4(int n, const float *w, const float *restrict a, const float *restrict b,
                  const float *restrict c, const float *restrict d, float *restrict y)
{
    const float wa = w[0], wb = w[1], wc = w[2], wd = w[3];
    for (int i = 0; i < n; i++)
        y[i] += wa * a[i] + wb * b[i] + wc * c[i] + wd * d[i];
}

/* y += sum over entries [e0, e1) of w[pos[e]] * row other[e] of x; four
 * entries per pass over y */
static void add_rows(int n, int32_t e0, int32_t e1, const int32_t *other, const int32_t *pos,
                     const float *w, const float *x, float *y)
{
    int32_t e = e0;
    for (; e + 4 <= e1; e += 4) {
        const float wv[4] = {w[pos[e]], w[pos[e + 1]], w[pos[e + 2]], w[pos[e + 3]]};
        axpy4(n, wv, x + (size_t)other[e] * n, x + (size_t)other[e + 1] * n,
              x + (size_t)other[e + 2] * n, x + (size_t)other[e + 3] * n, y);
    }
    for (; e < e1; e++)
        axpy(n, w[pos[e]], x + (size_t)other[e] * n, y);
}

static float dot(int n, const float *restrict a, const float *restrict b)
{
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
}

/* dw at entries [e0, e1) of one output row += the dot products of its
 * gradient row g with the entries' input rows; four entries per pass */
static void row_gradients(int n, int32_t e0, int32_t e1, const struct sparse_weights *sw,
                          const float *restrict g, const float *x, float *dw)
{
    int32_t e = e0;
    for (; e + 4 <= e1; e += 4) {
        const float *restrict a = x + (size_t)sw->row_in[e] * n;
        const float *restrict b = x + (size_t)sw->row_in[e + 1] * n;
        const float *restrict c = x + (size_t)sw->row_in[e + 2] * n;
        const float *restrict d = x + (size_t)sw->row_in[e + 3] * n;
        float sa = 0.0f, sb = 0.0f, sc = 0.0f, sd = 0.0f;
#pragma omp simd reduction(+ : sa, sb, sc, sd)
        for (int i = 0; i < n; i++) {
            sa += g[i] * a[i];
            sb += g[i] * b[i];
            sc += g[i] * c[i];
            sd += g[i] * d[i];
        }
        dw[sw->row_pos[e]] += sa;
        dw[sw->row_pos[e + 1]] += sb;
        dw[sw->row_pos[e + 2]] += sc;
        dw[sw->row_pos[e + 3]] += sd;
    }
    for (; e < e1; e++)
        dw[sw->row_pos[e]] += dot(n, g, x + (size_t)sw->row_in[e] * n);
}

void sparse_linear_forward(int n, const struct sparse_weights *sw, const float *x,
                           const float *w, const float *bias, float *y, int threads)
{
#pragma omp parallel for schedule(dynamic, 8) num_threads(threads_for(n, sw, threads))
    for (int o = 0; o < sw->rows; o++) {
        float *yr = y + (size_t)o * n;
        const float b = bias ? bias[o] : 0.0f;
        for (int j = 0; j < n; j++)
            yr[j] = b;
        add_rows(n, sw->row_start[o], sw->row_start[o + 1], sw->row_in, sw->row_pos, w, x, yr);
    }
}

void sparse_linear_backward(int n, const struct sparse_weights *sw, const float *x,
                            const float *w, const float *dy, float *dx,
                            enum grad_write dx_write, float *dw, float *dbias, int threads)
{
#pragma omp parallel num_threads(threads_for(n, sw, threads))
    {
        if (dw) {
#pragma omp for schedule(dynamic, 8) nowait
            for (int o = 0; o < sw->rows; o++)
                row_gradients(n, sw->row_start[o], sw->row_start[o + 1], sw, dy + (size_t)o * n,
                              x, dw);
        }
        if (dx) {
#pragma omp for schedule(dynamic, 8)
            for (int i = 0; i < sw->in; i++) {
                float *dxr = dx + (size_t)i * n;
                if (dx_write == GRAD_SET)
                    memset(dxr, 0, sizeof(float) * (size_t)n);
                add_rows(n, sw->col_start[i], sw->col_start[i + 1], sw->col_out, sw->col_pos, w,
                         dy, dxr);
            }
        }
    }
    if (dbias)
        sum_rows_into(sw->rows, (size_t)n, dy, dbias);
}
