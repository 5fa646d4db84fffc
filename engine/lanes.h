/* The lanes layout's shared piece (layers.h's bordered_layout with a
 * group_stride): 16 images side by side in a vector's lanes, moved in and
 * out of the plain [channel][image][h][w] by 16 x 16 register transposes.
 * AVX-512 builds only: nothing plans the layout without it. */
#ifndef DSRBENCH_LANES_H
#define DSRBENCH_LANES_H

#define LANES 16

/* images of a batch in its group starting at image n0: 16, or fewer in
 * the last */
static inline int lanes_in_group(int batch, int n0)
{
    return batch - n0 < LANES ? batch - n0 : LANES;
}

#if defined(__AVX512F__)
#include <immintrin.h>

/* in place: the 16 x 16 matrix r[row][lane] becomes its transpose */
static inline void transpose16(__m512 *r)
{
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    /* u[4i + j], 128-bit lane L: column 4L + j of rows 4i .. 4i + 3 */
    for (int j = 0; j < 4; j++) {
        t[j] = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
        t[4 + j] = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
        t[8 + j] = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
        r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);
        r[4 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);
        r[12 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xDD);
    }
}

/* stores r[q], the values of position p0 + q (q < count) of an h x w plane
 * transposed into lanes, where a bordered plane of rows wp positions long
 * at `to` keeps it: row y + border, column x + border (across rows when
 * the 16 positions span several) */
static inline void lanes_store_positions(const __m512 *r, int count, size_t p0, int w, int wp,
                                         int border, float *to)
{
    int y = (int)(p0 / w), x = (int)(p0 % w);
    for (int q = 0; q < count; q++) {
        _mm512_store_ps(to + ((size_t)(y + border) * wp + x + border) * LANES, r[q]);
        if (++x == w) {
            x = 0;
            y++;
        }
    }
}
#endif

#endif
