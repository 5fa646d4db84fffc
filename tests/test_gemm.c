/* The convolution's GEMMs (engine/gemm.h) against plain double loops, on
 * sizes around the kernels' tile edges (8 rows x 48 columns for gemm_nn,
 * 6 or 4 x 4 rows and 16-wide vectors for gemm_nt), with leading dimensions wider
 * than the rows, transposed packing, and both overwrite and accumulate; with
 * AVX-512 also the GEMMs on shifted rows, masked (gemm_nn_shifted) and not
 * (gemm_nt_shifted). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gemm.h"
#include "testutil.h"

static const int sizes_m[] = {1, 5, 8, 9, 14, 17};
static const int sizes_n[] = {1, 15, 16, 17, 47, 48, 49, 100};
static const int sizes_k[] = {1, 3, 30};
#define COUNT(a) (sizeof a / sizeof a[0])
#define PAD 3 /* extra floats per row: leading dimensions wider than the rows */

/* an operand of the expected product, element (row, col) */
struct operand {
    float (*at)(const void *ctx, int row, int col);
    const void *ctx;
};

struct matrix {
    const float *p;
    int ld, trans; /* trans: element (r, c) stored at p[c * ld + r] */
};

static float matrix_at(const void *ctx, int row, int col)
{
    const struct matrix *m = ctx;
    return m->trans ? m->p[(size_t)col * m->ld + row] : m->p[(size_t)row * m->ld + col];
}

/* want[i][j] = (c[i][j] when accumulating) + sum over kk of A[i][kk] B[kk][j]
 * for j < cols; the columns past cols (to ldc) keep c's values */
static void expected(int m, int cols, int depth, int ldc, const float *c, int accumulate,
                     struct operand a, struct operand b, float *want)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++) {
            double acc = accumulate || j >= cols ? c[(size_t)i * ldc + j] : 0.0;
            for (int kk = 0; j < cols && kk < depth; kk++)
                acc += (double)a.at(a.ctx, i, kk) * b.at(b.ctx, kk, j);
            want[(size_t)i * ldc + j] = (float)acc;
        }
}

static void check_nn(int m, int n, int k, int trans, int accumulate, struct rng *rng)
{
    const int lda = (trans ? m : k) + PAD, ldb = n + PAD, ldc = n + PAD;
    float *a = guarded_random(rng, (size_t)(trans ? k : m) * lda, "a");
    float *b = guarded_random(rng, (size_t)k * ldb, "b");
    float *c = guarded_random(rng, (size_t)m * ldc, "c");
    float *want = guarded_floats((size_t)m * ldc, "want");
    const struct matrix am = {a, lda, trans}, bm = {b, ldb, 0};
    expected(m, n, k, ldc, c, accumulate, (struct operand){matrix_at, &am},
             (struct operand){matrix_at, &bm}, want);
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
    const struct matrix am = {a, lda, 0}, bm = {b, ldb, 1};
    expected(m, p, n, ldc, c, accumulate, (struct operand){matrix_at, &am},
             (struct operand){matrix_at, &bm}, want);
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

#if defined(GEMM_SHIFTED)
/* B's rows as shifted planes (gemm.h): three taps, one shifted back past the
 * plane's start, one forward past its end into the next channel's */
#define TAPS 3
#define MARGIN 8 /* floats before the first plane: the backward shift reads there */
static const long tap_offsets[TAPS] = {-5, 0, 7};

/* B[kk][j] as the shifted GEMMs must read it */
static float shifted_value(const struct shifted_rows *sr, int kk, int j)
{
    const int tap = kk % sr->taps;
    if (sr->mask && !(sr->mask[(size_t)tap * sr->vectors + j / 16] >> (j % 16) & 1u))
        return 0.0f;
    return sr->base[(size_t)(kk / sr->taps) * sr->channel_stride + sr->offset[tap] + j];
}

struct shifted_view {
    const struct shifted_rows *sr;
    int trans; /* element (r, c) is B[c][r] */
};

static float shifted_at(const void *ctx, int row, int col)
{
    const struct shifted_view *v = ctx;
    return v->trans ? shifted_value(v->sr, col, row) : shifted_value(v->sr, row, col);
}

/* channels planes of n + 16 floats each, and a random lane mask when masked */
static struct shifted_rows random_rows(int channels, int n, int masked, struct rng *rng,
                                       float **planes, uint16_t **mask)
{
    const size_t stride = (size_t)n + 16;
    const int vectors = (n + 15) / 16 + 2;
    *planes = guarded_random(rng, MARGIN + channels * stride + MARGIN, "planes");
    *mask = NULL;
    if (masked) {
        *mask = guarded_alloc(sizeof(uint16_t) * TAPS * vectors, "mask");
        for (int i = 0; i < TAPS * vectors; i++)
            (*mask)[i] = (uint16_t)rng_below(rng, 65536);
    }
    return (struct shifted_rows){*planes + MARGIN, stride, TAPS, vectors, tap_offsets, *mask};
}

static void check_nn_shifted(int m, int n, int channels, int accumulate, struct rng *rng)
{
    const int k = channels * TAPS, ldc = n + PAD;
    float *planes;
    uint16_t *mask;
    const struct shifted_rows sr = random_rows(channels, n, 1, rng, &planes, &mask);
    float *a = guarded_random(rng, (size_t)m * k, "a");
    float *c = guarded_random(rng, (size_t)m * ldc, "c");
    float *want = guarded_floats((size_t)m * ldc, "want");
    const struct matrix am = {a, k, 0};
    const struct shifted_view bv = {&sr, 0};
    expected(m, n, k, ldc, c, accumulate, (struct operand){matrix_at, &am},
             (struct operand){shifted_at, &bv}, want);
    float *packed = guarded_floats(gemm_packed_floats(m, k), "packed");
    gemm_pack_a(m, k, a, k, 0, packed);
    gemm_nn_shifted(m, n, k, packed, &sr, c, ldc, accumulate);
    char what[96];
    snprintf(what, sizeof what, "gemm_nn_shifted m=%d n=%d channels=%d accumulate=%d", m, n,
             channels, accumulate);
    expect_close(what, c, want, (size_t)m * ldc, 1e-5);
    GUARDED_FREE_ALL(planes, mask, a, c, want, packed);
}

static void check_nt_shifted(int m, int channels, int n, int accumulate, struct rng *rng)
{
    const int p = channels * TAPS, lda = n + PAD, ldc = p + PAD;
    float *planes;
    uint16_t *mask;
    const struct shifted_rows sr = random_rows(channels, n, 0, rng, &planes, &mask);
    float *a = guarded_random(rng, (size_t)m * lda, "a");
    float *c = guarded_random(rng, (size_t)m * ldc, "c");
    float *want = guarded_floats((size_t)m * ldc, "want");
    const struct matrix am = {a, lda, 0};
    const struct shifted_view bv = {&sr, 1};
    expected(m, p, n, ldc, c, accumulate, (struct operand){matrix_at, &am},
             (struct operand){shifted_at, &bv}, want);
    gemm_nt_shifted(m, p, n, a, lda, &sr, c, ldc, accumulate);
    char what[96];
    snprintf(what, sizeof what, "gemm_nt_shifted m=%d channels=%d n=%d accumulate=%d", m,
             channels, n, accumulate);
    expect_close(what, c, want, (size_t)m * ldc, 1e-5);
    GUARDED_FREE_ALL(planes, a, c, want);
}

static const int sizes_channels[] = {1, 2, 5};

Test(gemm, shifted_rows_against_loops)
{
    struct rng rng = rng_stream(33, RNG_METHOD);
    for (size_t i = 0; i < COUNT(sizes_m); i++)
        for (size_t j = 0; j < COUNT(sizes_n); j++)
            for (size_t l = 0; l < COUNT(sizes_channels); l++)
                for (int accumulate = 0; accumulate < 2; accumulate++) {
                    check_nn_shifted(sizes_m[i], sizes_n[j], sizes_channels[l], accumulate, &rng);
                    check_nt_shifted(sizes_m[i], sizes_channels[l], sizes_n[j], accumulate, &rng);
                }
}
#endif
