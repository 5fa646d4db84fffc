/* The multiply-add at the heart of the sparse convolution's forward pass and
 * input gradient (sparse_conv_internal.h): every output row is a weighted sum
 * of shifted source planes, one per active weight.
 *
 * The positions are walked in tiles of SPARSE_ROWS_TILE floats, and within a
 * tile every row in turn: the tile's accumulators stay in registers for all
 * of a row's weights in a group (no load and store of the output per
 * weight), and the source planes' parts under the tile, read by every row,
 * stay in L1 for the next row (a pass over the whole block per row read them
 * from L2). Groups split the source channels where their parts under a tile
 * would not fit in L1 together (WRN-28-2's 128-channel layers: 3 groups,
 * about a tenth faster); each group after the first adds to the tile's
 * stored sums. */
#include "sparse_conv_internal.h"

#if defined(__AVX512F__)
#include <immintrin.h>

/* row r's sums over group q's entries on the tile at i0, added to the
 * stored sums after the first group */
static inline void row_group_tile(const struct sparse_rows *sr, int r, int q, const float *src,
                                  size_t i0, float *o)
{
    const int32_t first = sr->start[r * sr->groups + q];
    const int32_t end = sr->start[r * sr->groups + q + 1];
    if (q > 0 && first == end)
        return;
    __m512 a[8];
    for (int v = 0; v < 8; v++)
        a[v] = q > 0 ? _mm512_loadu_ps(o + 16 * v) : _mm512_setzero_ps();
    for (int32_t j = first; j < end; j++) {
        const __m512 w = _mm512_set1_ps(sr->weight[j]);
        const float *p = src + sr->offset[j] + i0;
        for (int v = 0; v < 8; v++)
            a[v] = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 16 * v), a[v]);
    }
    for (int v = 0; v < 8; v++)
        _mm512_storeu_ps(o + 16 * v, a[v]);
}

void sparse_rows_product(const struct sparse_rows *sr, const float *src, size_t n, float *out,
                         size_t out_stride)
{
    for (size_t i0 = 0; i0 < n; i0 += SPARSE_ROWS_TILE)
        for (int q = 0; q < sr->groups; q++)
            for (int r = 0; r < sr->rows; r++)
                row_group_tile(sr, r, q, src, i0, out + (size_t)r * out_stride + i0);
}

#else

void sparse_rows_product(const struct sparse_rows *sr, const float *src, size_t n, float *out,
                         size_t out_stride)
{
    for (size_t i0 = 0; i0 < n; i0 += SPARSE_ROWS_TILE)
        for (int q = 0; q < sr->groups; q++)
            for (int r = 0; r < sr->rows; r++) {
                float *o = out + (size_t)r * out_stride + i0;
                float acc[SPARSE_ROWS_TILE] = {0};
                for (int i = 0; q > 0 && i < SPARSE_ROWS_TILE; i++)
                    acc[i] = o[i];
                for (int32_t j = sr->start[r * sr->groups + q];
                     j < sr->start[r * sr->groups + q + 1]; j++) {
                    const float w = sr->weight[j];
                    const float *p = src + sr->offset[j] + i0;
                    for (int i = 0; i < SPARSE_ROWS_TILE; i++)
                        acc[i] += w * p[i];
                }
                for (int i = 0; i < SPARSE_ROWS_TILE; i++)
                    o[i] = acc[i];
            }
}

#endif
