/* The planes a same-size stride-1 convolution's GEMMs read instead of
 * column matrices (engine/conv.c; 3x3 pad 1 and the like, with AVX-512).
 *
 * Forward and the input gradient pack the chunk's planes side by side and
 * read row (channel, tap) of the column matrix as that plane shifted by the
 * tap, a lane mask per tap zeroing what falls outside the image
 * (gemm_nn_shifted): no k*k copies written and read back (WRN-28-2: the
 * convolutions' forward 15-20% faster). The weight gradient reads
 * zero-bordered planes instead, x's with pad zero rows and columns that
 * neighbouring rows and images share (pitch w + pad, as in
 * sparse_conv_flat.c) and dy's in the same layout with zeros off the
 * outputs, so that every tap is a plain shift and its GEMM needs no mask
 * (gemm_nt_shifted): with a mask per vector and row it was no faster than
 * im2col + gemm_nt, without a quarter faster. The extra zero positions cost
 * (h + pad)(w + pad) / hw more multiply-adds, so only planes up to 1.15x
 * take it (16x16 and larger at pad 1). */
#ifndef DSRBENCH_CONV_PLANES_H
#define DSRBENCH_CONV_PLANES_H
#include <stddef.h>
#include <stdint.h>

#include "gemm.h"
#include "layers.h"

/* whether the layer's forward and input gradient read shifted planes */
int conv_shifts_in_place(const struct conv_shape *s);

/* the taps' shifts and valid lanes over `images` whole images (the
 * transposed convolution of such a layer has the same padding, so the same
 * table serves the input gradient), and the taps' shifts in bordered planes */
struct shift_table {
    long *offset;
    uint16_t *mask;
    int vectors;
    long *bordered_offset;
};

/* the layer's table for chunks of up to `images` images; all zero (mask
 * NULL) for a layer that does not shift in place */
struct shift_table conv_shift_table(const struct conv_shape *s, int images);
void conv_shift_table_free(struct shift_table *t);
/* B rows over the packed planes at base, `stride` floats per channel */
struct shifted_rows conv_shifted_rows(const struct conv_shape *s, const struct shift_table *t,
                                      const float *base, size_t stride);
/* the planes of images n..n+m of every channel of a C x batch x plane
 * tensor, side by side in `packed`: read in place, each channel's planes
 * sit a whole batch apart and the GEMM's strips, walking all of them at
 * once, miss the cache (measured slower than im2col); packed they are one
 * short copy and stay in L2 */
const float *conv_packed_planes(int channels, int batch, size_t plane, const float *t, int n,
                                int m, float *packed);

/* bordered planes of m images: pitch wq, pq floats per image, n columns;
 * per channel x_stride floats of x and dy_stride of dy */
struct bordered {
    int wq;
    size_t pq, n, x_stride, dy_stride;
};

struct bordered conv_bordered(const struct conv_shape *s, int m);
/* whether the layer's weight gradient takes bordered planes: it shifts in
 * place, the padding costs at most 1.15x, and x's and dy's bordered planes
 * of a chunk fit a thread's column buffer */
int conv_bordered_weight_gradient(const struct conv_shape *s, int chunk, size_t column_floats);
/* x's planes of images n..n+m, bordered, into `to` (every float of every
 * channel's stretch written: the buffer holds other packings in between) */
void conv_bordered_inputs(const struct conv_shape *s, const struct bordered *b, const float *x,
                          int n, int m, float *to);
/* dy's planes of images n..n+m: output (oy, ox) at oy * wq + ox of its
 * image's pq floats, zero elsewhere */
void conv_bordered_gradients(const struct conv_shape *s, const struct bordered *b,
                             const float *dy, int n, int m, float *to);
/* B rows over x's bordered planes at `planes` */
struct shifted_rows conv_bordered_rows(const struct conv_shape *s, const struct shift_table *t,
                                       const struct bordered *b, const float *planes);

#endif
