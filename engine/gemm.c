#include "gemm.h"

#include <cblas.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>

/* gemm_nn micro-tile: MR rows of C by NV vectors of 16 columns, 24 zmm
 * accumulators; per k, NV loads of a B row and MR broadcasts of packed A */
#define MR 8
#define NV 3
#define NR (16 * NV)
/* gemm_nt micro-tile: TA rows of A against TB rows of B, 24 zmm accumulators
 * (TB = 4: tile_nt_rows sums each row's four with sum4) */
#define TA 6
#define TB 4

static __mmask16 lanes(int count)
{
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? 0 : (__mmask16)((1u << count) - 1);
}

size_t gemm_packed_floats(int m, int k)
{
    return (size_t)((m + MR - 1) / MR) * MR * (size_t)k;
}

/* blocks of MR rows, each k-major: packed[b][kk][r] = A[b*MR + r][kk], 0 past m */
void gemm_pack_a(int m, int k, const float *a, int lda, int trans, float *packed)
{
    const int blocks = (m + MR - 1) / MR;
    for (int b = 0; b < blocks; b++)
        for (int kk = 0; kk < k; kk++)
            for (int r = 0; r < MR; r++) {
                const int i = b * MR + r;
                float v = 0.0f;
                if (i < m)
                    v = trans ? a[(size_t)kk * lda + i] : a[(size_t)i * lda + kk];
                packed[((size_t)b * k + kk) * MR + r] = v;
            }
}

/* C[rows x cols] (+)= packed A block x B[:, cols]; rows <= MR, cols <= NR.
 * B is b's rows ldb apart, or with sr its shifted rows from column j0 (a
 * multiple of 16); inlined into both callers, each gets its own loop. */
static inline __attribute__((always_inline)) void
tile_nn_any(int rows, int cols, int k, const float *pa, const float *b, int ldb,
            const struct shifted_rows *sr, int j0, float *c, int ldc, int accumulate)
{
    __m512 acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            acc[r][v] = _mm512_setzero_ps();
    const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16), m2 = lanes(cols - 32);
    const float *channel = sr ? sr->base + j0 : NULL;
    int tap = 0;
    for (int kk = 0; kk < k; kk++) {
        const float *row = b + (size_t)kk * ldb;
        __mmask16 k0 = m0, k1 = m1, k2 = m2;
        if (sr) {
            row = channel + sr->offset[tap];
            if (sr->mask) {
                const uint16_t *mask = sr->mask + (size_t)tap * sr->vectors + j0 / 16;
                k0 &= mask[0];
                k1 &= mask[1];
                k2 &= mask[2];
            }
            if (++tap == sr->taps) {
                tap = 0;
                channel += sr->channel_stride;
            }
        }
        const __m512 b0 = _mm512_maskz_loadu_ps(k0, row);
        const __m512 b1 = _mm512_maskz_loadu_ps(k1, row + 16);
        const __m512 b2 = _mm512_maskz_loadu_ps(k2, row + 32);
        const float *ak = pa + (size_t)kk * MR;
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            const __m512 av = _mm512_set1_ps(ak[r]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);
        }
    }
    const __mmask16 masks[NV] = {m0, m1, m2};
    /* constant bounds, fully unrolled: acc stays in registers */
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        if (r >= rows)
            break;
        float *crow = c + (size_t)r * ldc;
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) {
            __m512 out = acc[r][v];
            if (accumulate)
                out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(masks[v], crow + 16 * v));
            _mm512_mask_storeu_ps(crow + 16 * v, masks[v], out);
        }
    }
}

/* column strips outer: a strip of B (k x NR) stays in cache across the row blocks */
static inline __attribute__((always_inline)) void
nn_strips(int m, int n, int k, const float *packed_a, const float *b, int ldb,
          const struct shifted_rows *sr, float *c, int ldc, int accumulate)
{
    const int blocks = (m + MR - 1) / MR;
    for (int j = 0; j < n; j += NR) {
        const int cols = n - j < NR ? n - j : NR;
        for (int blk = 0; blk < blocks; blk++) {
            const int rows = m - blk * MR < MR ? m - blk * MR : MR;
            tile_nn_any(rows, cols, k, packed_a + (size_t)blk * k * MR, b ? b + j : NULL, ldb, sr,
                        j, c + (size_t)blk * MR * ldc + j, ldc, accumulate);
        }
    }
}

void gemm_nn(int m, int n, int k, const float *packed_a, const float *b, int ldb, float *c,
             int ldc, int accumulate)
{
    nn_strips(m, n, k, packed_a, b, ldb, NULL, c, ldc, accumulate);
}

void gemm_nn_shifted(int m, int n, int k, const float *packed_a, const struct shifted_rows *b,
                     float *c, int ldc, int accumulate)
{
    nn_strips(m, n, k, packed_a, NULL, 0, b, c, ldc, accumulate);
}

/* the sums of a, b, c and d's lanes, in that order: one transposing tree
 * for four sums instead of four reductions */
static inline __m128 sum4(__m512 a, __m512 b, __m512 c, __m512 d)
{
    /* per 128-bit lane: a0+a2, b0+b2, a1+a3, b1+b3 (and c, d) */
    const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    /* per 128-bit lane: the lane's sums of a, b, c, d */
    const __m512d abd = _mm512_castps_pd(ab), cdd = _mm512_castps_pd(cd);
    const __m512 lanes4 = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(abd, cdd)),
                                        _mm512_castpd_ps(_mm512_unpackhi_pd(abd, cdd)));
    const __m256 half = _mm256_add_ps(
        _mm512_castps512_ps256(lanes4),
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(lanes4), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
}

/* C[rows x prows] (+)= A[rows x n] B[prows x n]^T for a tile of ta <= TA
 * rows (a constant where inlined: a loop per height); missing rows repeat
 * the last */
static inline __attribute__((always_inline)) void
tile_nt_rows(const int ta, int rows, int prows, int n, const float *a, int lda,
             const float *const *br, float *c, int ldc, int accumulate)
{
    const float *ar[TA];
    for (int r = 0; r < ta; r++)
        ar[r] = a + (size_t)(r < rows ? r : rows - 1) * lda;
    __m512 acc[TA][TB];
#pragma GCC unroll 6
    for (int r = 0; r < ta; r++)
#pragma GCC unroll 4
        for (int q = 0; q < TB; q++)
            acc[r][q] = _mm512_setzero_ps();
    /* whole vectors, then one masked tail */
    for (int t = 0; t < n; t += 16) {
        const __mmask16 mask = t + 16 <= n ? (__mmask16)0xFFFF : lanes(n - t);
        __m512 bv[TB];
#pragma GCC unroll 4
        for (int q = 0; q < TB; q++)
            bv[q] = _mm512_maskz_loadu_ps(mask, br[q] + t);
#pragma GCC unroll 6
        for (int r = 0; r < ta; r++) {
            const __m512 av = _mm512_maskz_loadu_ps(mask, ar[r] + t);
#pragma GCC unroll 4
            for (int q = 0; q < TB; q++)
                acc[r][q] = _mm512_fmadd_ps(av, bv[q], acc[r][q]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < ta; r++) {
        if (r >= rows)
            break;
        float sums[TB];
        _mm_storeu_ps(sums, sum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
        float *out = c + (size_t)r * ldc;
        for (int q = 0; q < prows; q++)
            out[q] = accumulate ? out[q] + sums[q] : sums[q];
    }
}

/* all of A's rows against the B rows br (C's columns c..c+prows) */
static void nt_row_block(int m, int prows, int n, const float *a, int lda, const float *const *br,
                         float *c, int ldc, int accumulate)
{
    for (int i = 0; i < m;) {
        /* tiles of TA rows, and of 4 where TA would leave a short tile
         * computing repeated rows (32 rows: 6 6 6 6 4 4, not 6 x 6) */
        const int left = m - i, ta = left >= TA && left != 8 ? TA : 4;
        const int rows = left < ta ? left : ta;
        const float *ai = a + (size_t)i * lda;
        float *ci = c + (size_t)i * ldc;
        if (ta == TA)
            tile_nt_rows(TA, rows, prows, n, ai, lda, br, ci, ldc, accumulate);
        else
            tile_nt_rows(4, rows, prows, n, ai, lda, br, ci, ldc, accumulate);
        i += rows;
    }
}

/* row q of the block of prows B rows from j; past prows the last again */
static int block_row(int j, int q, int prows)
{
    return j + (q < prows ? q : prows - 1);
}

/* B's row blocks outer (each read once), A's rows inner (kept in cache) */
void gemm_nt(int m, int p, int n, const float *a, int lda, const float *b, int ldb, float *c,
             int ldc, int accumulate)
{
    for (int j = 0; j < p; j += TB) {
        const int prows = p - j < TB ? p - j : TB;
        const float *br[TB];
        for (int q = 0; q < TB; q++)
            br[q] = b + (size_t)block_row(j, q, prows) * ldb;
        nt_row_block(m, prows, n, a, lda, br, c + j, ldc, accumulate);
    }
}

void gemm_nt_shifted(int m, int p, int n, const float *a, int lda, const struct shifted_rows *b,
                     float *c, int ldc, int accumulate)
{
    for (int j = 0; j < p; j += TB) {
        const int prows = p - j < TB ? p - j : TB;
        const float *br[TB];
        for (int q = 0; q < TB; q++) {
            const int row = block_row(j, q, prows);
            br[q] = b->base + (size_t)(row / b->taps) * b->channel_stride +
                    b->offset[row % b->taps];
        }
        nt_row_block(m, prows, n, a, lda, br, c + j, ldc, accumulate);
    }
}

#else /* no AVX-512: OpenBLAS */

size_t gemm_packed_floats(int m, int k)
{
    return (size_t)m * (size_t)k;
}

/* row-major A (transposed when asked) */
void gemm_pack_a(int m, int k, const float *a, int lda, int trans, float *packed)
{
    for (int i = 0; i < m; i++)
        for (int kk = 0; kk < k; kk++)
            packed[(size_t)i * k + kk] = trans ? a[(size_t)kk * lda + i] : a[(size_t)i * lda + kk];
}

void gemm_nn(int m, int n, int k, const float *packed_a, const float *b, int ldb, float *c,
             int ldc, int accumulate)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, packed_a, k, b, ldb,
                accumulate ? 1.0f : 0.0f, c, ldc);
}

void gemm_nt(int m, int p, int n, const float *a, int lda, const float *b, int ldb, float *c,
             int ldc, int accumulate)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, p, n, 1.0f, a, lda, b, ldb,
                accumulate ? 1.0f : 0.0f, c, ldc);
}

#endif
