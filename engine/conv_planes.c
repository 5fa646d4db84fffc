/* The shifted and bordered planes of same-size stride-1 convolutions
 * (conv_planes.h). */
#include "conv_planes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t plane(int h, int w)
{
    return (size_t)h * w;
}

int conv_shifts_in_place(const struct conv_shape *s)
{
#if defined(GEMM_SHIFTED)
    return s->stride == 1 && s->kernel > 1 && s->out_h == s->in_h && s->out_w == s->in_w;
#else
    (void)s;
    return 0;
#endif
}

struct shift_table conv_shift_table(const struct conv_shape *s, int images)
{
    if (!conv_shifts_in_place(s))
        return (struct shift_table){0};
    const int k = s->kernel, taps = k * k, h = s->in_h, w = s->in_w, pad = s->pad;
    const size_t plane_floats = plane(h, w), cols = (size_t)images * plane_floats;
    struct shift_table t = {.vectors = (int)((cols + 15) / 16) + 2};
    t.offset = malloc(sizeof(long) * taps);
    t.bordered_offset = malloc(sizeof(long) * taps);
    t.mask = calloc((size_t)taps * t.vectors, sizeof(uint16_t));
    if (!t.offset || !t.bordered_offset || !t.mask) {
        fprintf(stderr, "dsrbench: out of memory in the convolution\n");
        exit(1);
    }
    for (int tap = 0; tap < taps; tap++) {
        const int dy = tap / k - pad, dx = tap % k - pad;
        t.offset[tap] = (long)dy * w + dx;
        t.bordered_offset[tap] = (long)(tap / k) * (w + pad) + tap % k;
        uint16_t *mask = t.mask + (size_t)tap * t.vectors;
        for (size_t j = 0; j < cols; j++) {
            const int y = (int)(j % plane_floats) / w + dy, x = (int)(j % plane_floats) % w + dx;
            if (y >= 0 && y < h && x >= 0 && x < w)
                mask[j / 16] |= (uint16_t)(1u << (j % 16));
        }
    }
    return t;
}

void conv_shift_table_free(struct shift_table *t)
{
    free(t->offset);
    free(t->bordered_offset);
    free(t->mask);
}

struct shifted_rows conv_shifted_rows(const struct conv_shape *s, const struct shift_table *t,
                                      const float *base, size_t stride)
{
    return (struct shifted_rows){base, stride, s->kernel * s->kernel, t->vectors, t->offset,
                                 t->mask};
}

const float *conv_packed_planes(int channels, int batch, size_t plane_floats, const float *t,
                                int n, int m, float *packed)
{
    for (int c = 0; c < channels; c++)
        memcpy(packed + (size_t)c * m * plane_floats, t + ((size_t)c * batch + n) * plane_floats,
               sizeof(float) * m * plane_floats);
    return packed;
}

static size_t whole_vectors(size_t n)
{
    return (n + 15) / 16 * 16;
}

struct bordered conv_bordered(const struct conv_shape *s, int m)
{
    struct bordered b = {.wq = s->in_w + s->pad};
    b.pq = (size_t)(s->in_h + s->pad) * b.wq;
    b.n = (size_t)m * b.pq;
    b.dy_stride = whole_vectors(b.n);
    /* a shift reads up to (k - 1)(wq + 1) past the last position */
    b.x_stride = whole_vectors(b.n + (size_t)(s->kernel - 1) * (b.wq + 1));
    return b;
}

int conv_bordered_weight_gradient(const struct conv_shape *s, int chunk, size_t column_floats)
{
    if (!conv_shifts_in_place(s))
        return 0;
    const struct bordered b = conv_bordered(s, chunk);
    if (b.pq * 100 > plane(s->in_h, s->in_w) * 115)
        return 0;
    return (size_t)s->in_c * b.x_stride + (size_t)s->out_c * b.dy_stride <= column_floats;
}

void conv_bordered_inputs(const struct conv_shape *s, const struct bordered *b, const float *x,
                          int n, int m, float *to)
{
    const int h = s->in_h, w = s->in_w, p = s->pad;
    for (int c = 0; c < s->in_c; c++) {
        float *o = to + (size_t)c * b->x_stride, *end = o + b->x_stride;
        const float *from = x + ((size_t)c * s->batch + n) * plane(h, w);
        for (int img = 0; img < m; img++) {
            memset(o, 0, sizeof(float) * p * b->wq);
            o += (size_t)p * b->wq;
            for (int iy = 0; iy < h; iy++, o += b->wq, from += w) {
                memset(o, 0, sizeof(float) * p);
                memcpy(o + p, from, sizeof(float) * w);
            }
        }
        memset(o, 0, sizeof(float) * (size_t)(end - o));
    }
}

void conv_bordered_gradients(const struct conv_shape *s, const struct bordered *b,
                             const float *dy, int n, int m, float *to)
{
    const int h = s->out_h, w = s->out_w, p = s->pad;
    for (int o = 0; o < s->out_c; o++) {
        float *t = to + (size_t)o * b->dy_stride;
        const float *from = dy + ((size_t)o * s->batch + n) * plane(h, w);
        for (int img = 0; img < m; img++) {
            for (int oy = 0; oy < h; oy++, t += b->wq, from += w) {
                memcpy(t, from, sizeof(float) * w);
                memset(t + w, 0, sizeof(float) * p);
            }
            memset(t, 0, sizeof(float) * p * b->wq);
            t += (size_t)p * b->wq;
        }
    }
}

struct shifted_rows conv_bordered_rows(const struct conv_shape *s, const struct shift_table *t,
                                       const struct bordered *b, const float *planes)
{
    return (struct shifted_rows){planes, b->x_stride, s->kernel * s->kernel, 0,
                                 t->bordered_offset, NULL};
}
