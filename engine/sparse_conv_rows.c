/* The multiply-add at the heart of the sparse convolution's forward pass and
 * input gradient (sparse_conv_internal.h): every output row is a weighted sum
 * of shifted source planes, one per active weight.
 *
 * The positions are walked in tiles of SPARSE_ROWS_TILE floats, and within a
 * tile every row in turn: the tile's accumulators stay in registers for all
 * of a row's weights (no load and store of the output per weight), and the
 * source planes' parts under the tile, read by every row, stay in L1 for
 * the next row (a pass over the whole block per row read them from L2). */
#include "sparse_conv_internal.h"

#if defined(__AVX512F__)
#include <immintrin.h>

void sparse_rows_product(const struct sparse_rows *sr, const float *src, size_t n, float *out,
                         size_t out_stride)
{
    for (size_t i0 = 0; i0 < n; i0 += SPARSE_ROWS_TILE) {
        for (int r = 0; r < sr->rows; r++) {
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
                   a6 = a0, a7 = a0;
            for (int32_t j = sr->start[r]; j < sr->start[r + 1]; j++) {
                const __m512 w = _mm512_set1_ps(sr->weight[j]);
                const float *p = src + sr->offset[j] + i0;
                a0 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p), a0);
                a1 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 16), a1);
                a2 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 32), a2);
                a3 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 48), a3);
                a4 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 64), a4);
                a5 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 80), a5);
                a6 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 96), a6);
                a7 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 112), a7);
            }
            float *o = out + (size_t)r * out_stride + i0;
            _mm512_storeu_ps(o, a0);
            _mm512_storeu_ps(o + 16, a1);
            _mm512_storeu_ps(o + 32, a2);
            _mm512_storeu_ps(o + 48, a3);
            _mm512_storeu_ps(o + 64, a4);
            _mm512_storeu_ps(o + 80, a5);
            _mm512_storeu_ps(o + 96, a6);
            _mm512_storeu_ps(o + 112, a7);
        }
    }
}

#else

void sparse_rows_product(const struct sparse_rows *sr, const float *src, size_t n, float *out,
                         size_t out_stride)
{
    for (size_t i0 = 0; i0 < n; i0 += SPARSE_ROWS_TILE) {
        for (int r = 0; r < sr->rows; r++) {
            float acc[SPARSE_ROWS_TILE] = {0};
            for (int32_t j = sr->start[r]; j < sr->start[r + 1]; j++) {
                const float w = sr->weight[j];
                const float *p = src + sr->offset[j] + i0;
                for (int i = 0; i < SPARSE_ROWS_TILE; i++)
                    acc[i] += w * p[i];
            }
            float *o = out + (size_t)r * out_stride + i0;
            for (int i = 0; i < SPARSE_ROWS_TILE; i++)
                o[i] = acc[i];
        }
    }
}

#endif
