/* Layers without parameters that touch each value once: ReLU, residual add,
 * flatten; and the row sums and row copies the convolution and linear
 * kernels share (bias gradients, residuals). */
#include "layers.h"
#include "parallel.h"

#include <string.h>

void relu_forward(size_t count, const float *x, float *y)
{
#pragma omp parallel for schedule(static) if (count >= PARALLEL_MIN_VALUES)
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(size_t count, const float *y, const float *dy, float *dx)
{
#pragma omp parallel for schedule(static) if (count >= PARALLEL_MIN_VALUES)
    for (size_t i = 0; i < count; i++)
        if (y[i] > 0.0f)
            dx[i] += dy[i];
}

void add_forward(size_t count, const float *a, const float *b, float *y)
{
#pragma omp parallel for schedule(static) if (count >= PARALLEL_MIN_VALUES)
    for (size_t i = 0; i < count; i++)
        y[i] = a[i] + b[i];
}

/* called by every thread of a parallel region */
static void pass_gradient(size_t count, const float *dy, float *dx, enum grad_write write)
{
    if (!dx)
        return;
    if (write == GRAD_SET) {
#pragma omp for schedule(static)
        for (size_t i = 0; i < count; i++)
            dx[i] = dy[i];
    } else {
#pragma omp for schedule(static)
        for (size_t i = 0; i < count; i++)
            dx[i] += dy[i];
    }
}

void add_backward(size_t count, const float *dy, float *da, enum grad_write da_write, float *db,
                  enum grad_write db_write)
{
#pragma omp parallel if (count >= PARALLEL_MIN_VALUES)
    {
        pass_gradient(count, dy, da, da_write);
        pass_gradient(count, dy, db, db_write);
    }
}

/* Per row in SIMD lanes: one chain of dependent double adds took ~10% of
 * LeNet-300-100's sparse step (41k adds at 4 cycles each). */
void sum_rows_into(int rows, size_t row_len, const float *x, float *sums)
{
#pragma omp parallel for schedule(static) if (rows * row_len >= PARALLEL_MIN_VALUES)
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * row_len;
        double acc = 0.0;
#pragma omp simd reduction(+ : acc)
        for (size_t j = 0; j < row_len; j++)
            acc += row[j];
        sums[r] += (float)acc;
    }
}

void pass_rows(int rows, size_t row_len, size_t offset, size_t n, const float *src, float *dst,
               enum grad_write write)
{
    for (int r = 0; r < rows; r++) {
        const float *a = src + (size_t)r * row_len + offset;
        float *b = dst + (size_t)r * row_len + offset;
        if (write == GRAD_SET)
            memcpy(b, a, sizeof(float) * n);
        else
            for (size_t j = 0; j < n; j++)
                b[j] += a[j];
    }
}

/* Flatten transposes each channel's [n][hw] block to [hw][n]. In strips of
 * FLATTEN_STRIP positions: a strip's rows of y (n floats each) stay in L1
 * while every image's run of the strip is read in turn. Position by position
 * (every write to another row of y) LeNet-300-100's input took 0.041 ms a
 * step at batch 100, as long as its sparse first layer; strips of 8 take
 * 0.020 ms, of 4 0.030, of 16 0.026, of 32 or 64 0.04 (layers.csv
 * forward_min_ms, 1 thread). */
#define FLATTEN_STRIP 8

void flatten_forward(int c, int n, int hw, const float *x, float *y)
{
#pragma omp parallel for schedule(static) if ((long)c * n * hw >= PARALLEL_MIN_VALUES)
    for (int ci = 0; ci < c; ci++)
        for (int i0 = 0; i0 < hw; i0 += FLATTEN_STRIP) {
            const int i1 = i0 + FLATTEN_STRIP < hw ? i0 + FLATTEN_STRIP : hw;
            for (int j = 0; j < n; j++)
                for (int i = i0; i < i1; i++)
                    y[((size_t)ci * hw + i) * n + j] = x[((size_t)ci * n + j) * hw + i];
        }
}

void flatten_backward(int c, int n, int hw, const float *dy, float *dx)
{
#pragma omp parallel for schedule(static) if ((long)c * n * hw >= PARALLEL_MIN_VALUES)
    for (int ci = 0; ci < c; ci++)
        for (int i0 = 0; i0 < hw; i0 += FLATTEN_STRIP) {
            const int i1 = i0 + FLATTEN_STRIP < hw ? i0 + FLATTEN_STRIP : hw;
            for (int j = 0; j < n; j++)
                for (int i = i0; i < i1; i++)
                    dx[((size_t)ci * n + j) * hw + i] += dy[((size_t)ci * hw + i) * n + j];
        }
}
