/* Layers without parameters that touch each value once: ReLU, residual add, flatten. */
#include "layers.h"

void relu_forward(size_t count, const float *x, float *y)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(size_t count, const float *y, const float *dy, float *dx)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++)
        if (y[i] > 0.0f)
            dx[i] += dy[i];
}

void add_forward(size_t count, const float *a, const float *b, float *y)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++)
        y[i] = a[i] + b[i];
}

void add_backward(size_t count, const float *dy, float *da, float *db)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++) {
        if (da)
            da[i] += dy[i];
        if (db)
            db[i] += dy[i];
    }
}

void flatten_forward(int c, int n, int hw, const float *x, float *y)
{
#pragma omp parallel for schedule(static)
    for (int ci = 0; ci < c; ci++)
        for (int j = 0; j < n; j++)
            for (int i = 0; i < hw; i++)
                y[((size_t)ci * hw + i) * n + j] = x[((size_t)ci * n + j) * hw + i];
}

void flatten_backward(int c, int n, int hw, const float *dy, float *dx)
{
#pragma omp parallel for schedule(static)
    for (int ci = 0; ci < c; ci++)
        for (int j = 0; j < n; j++)
            for (int i = 0; i < hw; i++)
                dx[((size_t)ci * n + j) * hw + i] += dy[((size_t)ci * hw + i) * n + j];
}
