/* Fully connected layer on [features x batch] activations, through gemm.h
 * (the weights packed once per call into the workspace). Large layers split
 * into a fixed number of blocks, batch columns for the forward and input
 * gradient, weight rows for the weight gradient, so results do not depend
 * on the thread count. */
#include "gemm.h"
#include "layers.h"
#include "parallel.h"

#define BLOCKS 8

static size_t larger(size_t a, size_t b)
{
    return a > b ? a : b;
}

size_t linear_workspace_floats(int in, int out)
{
    return larger(gemm_packed_floats(out, in), gemm_packed_floats(in, out));
}

static int blocks_for(int n, int in, int out)
{
    return (long)n * in * out >= PARALLEL_MIN_MACS ? BLOCKS : 1;
}

/* [first, end) of block b of count items */
static int block_start(int count, int blocks, int b)
{
    return (int)((long)count * b / blocks);
}

void linear_forward(int n, int in, int out, const float *x, const float *w, const float *bias,
                    float *y, float *workspace)
{
    gemm_pack_a(out, in, w, in, 0, workspace);
    const int blocks = blocks_for(n, in, out);
#pragma omp parallel for schedule(dynamic, 1) if (blocks > 1)
    for (int b = 0; b < blocks; b++) {
        const int j0 = block_start(n, blocks, b), j1 = block_start(n, blocks, b + 1);
        if (j1 == j0)
            continue;
        gemm_nn(out, j1 - j0, in, workspace, x + j0, n, y + j0, n, 0);
        for (int o = 0; bias && o < out; o++)
            for (int j = j0; j < j1; j++)
                y[(size_t)o * n + j] += bias[o];
    }
}

void linear_backward(int n, int in, int out, const float *x, const float *w, const float *dy,
                     float *dx, enum grad_write dx_write, float *dw, float *dbias,
                     float *workspace)
{
    const int blocks = blocks_for(n, in, out);
    if (dx)
        gemm_pack_a(in, out, w, in, 1, workspace); /* W^T */
#pragma omp parallel if (blocks > 1)
    {
#pragma omp for schedule(dynamic, 1) nowait
        for (int b = 0; b < blocks; b++) {
            const int r0 = block_start(out, blocks, b), r1 = block_start(out, blocks, b + 1);
            if (dw && r1 > r0)
                gemm_nt(r1 - r0, in, n, dy + (size_t)r0 * n, n, x, n, dw + (size_t)r0 * in, in,
                        1);
        }
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < blocks; b++) {
            const int j0 = block_start(n, blocks, b), j1 = block_start(n, blocks, b + 1);
            if (dx && j1 > j0)
                gemm_nn(in, j1 - j0, out, workspace, dy + j0, n, dx + j0, n,
                        dx_write == GRAD_ADD);
        }
    }
    if (dbias)
        sum_rows_into(out, (size_t)n, dy, dbias);
}
