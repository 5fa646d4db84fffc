/* Fully connected layer on [features x batch] activations. */
#include "layers.h"

#include <cblas.h>

void linear_forward(int n, int in, int out, const float *x, const float *w, const float *bias,
                    float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, n, in, 1.0f, w, in, x, n, 0.0f,
                y, n);
    if (!bias)
        return;
    for (int o = 0; o < out; o++)
        for (int j = 0; j < n; j++)
            y[(size_t)o * n + j] += bias[o];
}

void linear_backward(int n, int in, int out, const float *x, const float *w, const float *dy,
                     float *dx, float *dw, float *dbias)
{
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out, in, n, 1.0f, dy, n, x, n, 1.0f,
                    dw, in);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, n, out, 1.0f, w, in, dy, n,
                    1.0f, dx, n);
    if (dbias) {
        for (int o = 0; o < out; o++) {
            double acc = 0.0;
            for (int j = 0; j < n; j++)
                acc += dy[(size_t)o * n + j];
            dbias[o] += (float)acc;
        }
    }
}
