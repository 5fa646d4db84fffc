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

static float dot(int n, const float *restrict a, const float *restrict b)
{
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
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
        for (int32_t e = sw->row_start[o]; e < sw->row_start[o + 1]; e++)
            axpy(n, w[sw->row_pos[e]], x + (size_t)sw->row_in[e] * n, yr);
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
                for (int32_t e = sw->row_start[o]; e < sw->row_start[o + 1]; e++)
                    dw[sw->row_pos[e]] +=
                        dot(n, dy + (size_t)o * n, x + (size_t)sw->row_in[e] * n);
        }
        if (dx) {
#pragma omp for schedule(dynamic, 8)
            for (int i = 0; i < sw->in; i++) {
                float *dxr = dx + (size_t)i * n;
                if (dx_write == GRAD_SET)
                    memset(dxr, 0, sizeof(float) * (size_t)n);
                for (int32_t e = sw->col_start[i]; e < sw->col_start[i + 1]; e++)
                    axpy(n, w[sw->col_pos[e]], dy + (size_t)sw->col_out[e] * n, dxr);
            }
        }
    }
    if (dbias) {
        for (int o = 0; o < sw->rows; o++) {
            double acc = 0.0;
            for (int j = 0; j < n; j++)
                acc += dy[(size_t)o * n + j];
            dbias[o] += (float)acc;
        }
    }
}
