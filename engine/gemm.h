/* Single-precision GEMMs for the convolution's chunks (conv.c), row-major.
 *
 * With AVX-512 (the build targets -march=native) they are register-blocked
 * kernels of our own; otherwise they call cblas_sgemm. OpenBLAS picks its
 * kernels by CPU model, and where it runs its AVX2 kernels on an AVX-512
 * machine (OPENBLAS_CORETYPE pinned, or a CPU it does not know) these run
 * about 1.5x faster. Single-threaded: callers parallelize over chunks.
 *
 * gemm_nn multiplies a pre-packed A (the weights, packed once per layer call)
 * by a B read in place (a column matrix or an activation); gemm_nt takes the
 * dot products of rows (the weight gradient: dy rows against column-matrix
 * rows). */
#ifndef DSRBENCH_GEMM_H
#define DSRBENCH_GEMM_H
#include <stddef.h>
#include <stdint.h>

/* floats gemm_pack_a writes for an m x k A */
size_t gemm_packed_floats(int m, int k);
/* packs A[m x k] (row i at a + i*lda), or with trans the transpose of the
 * stored k x m matrix (A[i][j] = a[j*lda + i]), for gemm_nn */
void gemm_pack_a(int m, int k, const float *a, int lda, int trans, float *packed);
/* C[m x n] = A B, or C += A B when accumulate; A packed, B[k x n] */
void gemm_nn(int m, int n, int k, const float *packed_a, const float *b, int ldb, float *c,
             int ldc, int accumulate);
/* C[m x p] = A B^T, or += when accumulate: C[i][j] = sum_t A[i][t] B[j][t],
 * A[m x n] and B[p x n] */
void gemm_nt(int m, int p, int n, const float *a, int lda, const float *b, int ldb, float *c,
             int ldc, int accumulate);

/* B read in place from shifted planes instead of a column matrix, for a
 * stride-1 convolution whose output keeps its input's size (an implicit
 * im2col: no column matrix written and read back). Row kk of B is channel
 * kk / taps's plane, at base + channel * channel_stride, shifted by
 * offset[kk % taps]; a lane whose bit is clear in
 * mask[(kk % taps) * vectors + column / 16] reads as zero (its tap falls
 * outside the image, or the shift reaches into a neighbouring image). The
 * masked lanes are never loaded, so a shift may point before base. Planes
 * laid out with zero borders of their own need no mask (mask NULL). */
struct shifted_rows {
    const float *base;
    size_t channel_stride;
    int taps, vectors; /* vectors: per tap, at least the columns' / 16 + 2 */
    const long *offset;
    const uint16_t *mask;
};

#if defined(__AVX512F__)
/* the GEMMs on shifted rows exist (with AVX-512 only: conv.c keeps im2col
 * and OpenBLAS otherwise) */
#define GEMM_SHIFTED 1

/* gemm_nn with B[k x n] as shifted rows */
void gemm_nn_shifted(int m, int n, int k, const float *packed_a, const struct shifted_rows *b,
                     float *c, int ldc, int accumulate);
/* gemm_nt with B[p x n] as shifted rows without a mask (b->mask is not
 * read): the weight gradient over zero-bordered planes */
void gemm_nt_shifted(int m, int p, int n, const float *a, int lda, const struct shifted_rows *b,
                     float *c, int ldc, int accumulate);
#endif

#endif
