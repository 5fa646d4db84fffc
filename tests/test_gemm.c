/* The convolution's GEMMs (engine/gemm.h) against plain double loops, on
 * sizes around the kernels' tile edges (8 rows x 48 columns for gemm_nn,
 * 6 or 4 x 4 rows and 16-wide vectors for gemm_nt), with leading dimensions wider
 * than the rows, transposed packing, and both overwrite and accumulate. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "gemm.h"
#include "testutil.h"

static const int sizes_m[] = {1, 5, 8, 9, 14, 17};
static const int sizes_n[] = {1, 15, 16, 17, 47, 48, 49, 100};
static const int sizes_k[] = {1, 3, 30};
#define COUNT(a) (sizeof a / sizeof a[0])
#define PAD 3 /* extra floats per row: leading dimensions wider than the rows */

static void check_nn(int m, int n, int k, int trans, int accumulate, struct rng *rng)
{
    const int lda = (trans ? m : k) + PAD, ldb = n + PAD, ldc = n + PAD;
    float *a = guarded_random(rng, (size_t)(trans ? k : m) * lda, "a");
    float *b = guarded_random(rng, (size_t)k * ldb, "b");
    float *c = guarded_random(rng, (size_t)m * ldc, "c");
    float *want = guarded_floats((size_t)m * ldc, "want");
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++) {
            double acc = accumulate || j >= n ? c[(size_t)i * ldc + j] : 0.0;
            for (int kk = 0; j < n && kk < k; kk++)
                acc += (double)(trans ? a[(size_t)kk * lda + i] : a[(size_t)i * lda + kk]) *
                       b[(size_t)kk * ldb + j];
            want[(size_t)i * ldc + j] = (float)acc;
        }
    float *packed = guarded_floats(gemm_packed_floats(m, k), "packed");
    gemm_pack_a(m, k, a, lda, trans, packed);
    gemm_nn(m, n, k, packed, b, ldb, c, ldc, accumulate);
    char what[96];
    snprintf(what, sizeof what, "gemm_nn m=%d n=%d k=%d trans=%d accumulate=%d", m, n, k, trans,
             accumulate);
    expect_close(what, c, want, (size_t)m * ldc, 1e-5);
    GUARDED_FREE_ALL(a, b, c, want, packed);
}

/* C = A B^T with A m x n and B p x n: the roles of the sizes rotate */
static void check_nt(int m, int p, int n, int accumulate, struct rng *rng)
{
    const int lda = n + PAD, ldb = n + PAD, ldc = p + PAD;
    float *a = guarded_random(rng, (size_t)m * lda, "a");
    float *b = guarded_random(rng, (size_t)p * ldb, "b");
    float *c = guarded_random(rng, (size_t)m * ldc, "c");
    float *want = guarded_floats((size_t)m * ldc, "want");
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++) {
            double acc = accumulate || j >= p ? c[(size_t)i * ldc + j] : 0.0;
            for (int t = 0; j < p && t < n; t++)
                acc += (double)a[(size_t)i * lda + t] * b[(size_t)j * ldb + t];
            want[(size_t)i * ldc + j] = (float)acc;
        }
    gemm_nt(m, p, n, a, lda, b, ldb, c, ldc, accumulate);
    char what[96];
    snprintf(what, sizeof what, "gemm_nt m=%d p=%d n=%d accumulate=%d", m, p, n, accumulate);
    expect_close(what, c, want, (size_t)m * ldc, 1e-5);
    GUARDED_FREE_ALL(a, b, c, want);
}

Test(gemm, nn_packed_against_loops)
{
    struct rng rng = rng_stream(31, RNG_METHOD);
    for (size_t i = 0; i < COUNT(sizes_m); i++)
        for (size_t j = 0; j < COUNT(sizes_n); j++)
            for (size_t l = 0; l < COUNT(sizes_k); l++)
                for (int flags = 0; flags < 4; flags++)
                    check_nn(sizes_m[i], sizes_n[j], sizes_k[l], flags & 1, flags >> 1, &rng);
}

Test(gemm, nt_against_loops)
{
    struct rng rng = rng_stream(32, RNG_METHOD);
    for (size_t i = 0; i < COUNT(sizes_m); i++)
        for (size_t j = 0; j < COUNT(sizes_k); j++)
            for (size_t l = 0; l < COUNT(sizes_n); l++)
                for (int accumulate = 0; accumulate < 2; accumulate++)
                    check_nt(sizes_m[i], sizes_k[j] + 4, sizes_n[l], accumulate, &rng);
}
