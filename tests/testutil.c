#include "testutil.h"

#include "layers.h"

#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 64 canary bytes on each side catch both small overruns (an off-by-one row)
 * and a whole stray vector store; a multiple of 16 keeps the block aligned. */
#define GUARD_BYTES 64
#define CANARY 0xA5

/* lies before the front guard; the union keeps what follows it aligned like malloc's */
union guard_header {
    struct {
        const char *what;
        size_t bytes;
    } info;
    /* cppcheck-suppress unusedStructMember ; only its alignment matters */
    max_align_t align;
};

static union guard_header *header_of(void *buf)
{
    return (union guard_header *)((unsigned char *)buf - GUARD_BYTES) - 1;
}

static int canaries_intact(const unsigned char *guard)
{
    for (size_t i = 0; i < GUARD_BYTES; i++)
        if (guard[i] != CANARY)
            return 0;
    return 1;
}

void *guarded_alloc(size_t bytes, const char *what)
{
    union guard_header *h = malloc(sizeof *h + 2 * GUARD_BYTES + bytes);
    cr_assert_not_null(h, "%s: out of memory for %zu bytes", what, bytes);
    h->info.what = what;
    h->info.bytes = bytes;
    unsigned char *front = (unsigned char *)(h + 1), *buf = front + GUARD_BYTES;
    memset(front, CANARY, GUARD_BYTES);
    memset(buf, 0, bytes);
    memset(buf + bytes, CANARY, GUARD_BYTES);
    return buf;
}

float *guarded_floats(size_t count, const char *what)
{
    return guarded_alloc(count * sizeof(float), what);
}

float *guarded_aligned_floats(size_t count, const char *what, float **raw)
{
    *raw = guarded_floats(count + 16, what);
    return *raw + (16 - ((uintptr_t)*raw / sizeof(float)) % 16) % 16;
}

size_t layout_index(const struct bordered_layout *l, int ch, int n, int y, int x)
{
    if (l->group_stride) {
        const size_t wp = (size_t)l->w + 2 * l->pad;
        return ch * l->channel_stride + (size_t)(n / 16) * l->group_stride +
               (((size_t)l->pad + y) * wp + l->pad + x) * 16 + n % 16;
    }
    const size_t wq = (size_t)l->w + l->pad, pq = ((size_t)l->h + l->pad) * wq;
    return ch * l->channel_stride + n * pq + ((size_t)l->pad + y) * wq + l->pad + x;
}

float *guarded_gradient(size_t count, const char *what)
{
    float *g = guarded_floats(count, what);
    for (size_t i = 0; i < count; i++)
        g[i] = GRAD_PREFILL;
    return g;
}

void guarded_free(void *buf)
{
    if (!buf)
        return;
    union guard_header *h = header_of(buf);
    const unsigned char *front = (const unsigned char *)(h + 1);
    cr_expect(canaries_intact(front), "%s: a write landed just before the buffer", h->info.what);
    cr_expect(canaries_intact(front + GUARD_BYTES + h->info.bytes),
              "%s: a write ran past the end of the buffer (%zu bytes)", h->info.what,
              h->info.bytes);
    free(h);
}

void guarded_free_array(void *const *bufs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        guarded_free(bufs[i]);
}

float *guarded_random(struct rng *r, size_t count, const char *what)
{
    float *x = guarded_floats(count, what);
    fill_uniform(r, x, count, -1.0f, 1.0f);
    return x;
}

void fill_uniform(struct rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * rng_uniform(r);
}

void fill_normal(struct rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = rng_normal(r);
}

void fill_distinct(struct rng *r, float *x, size_t n, float spacing)
{
    int32_t *order = malloc(sizeof *order * (n ? n : 1));
    cr_assert_not_null(order);
    for (size_t i = 0; i < n; i++)
        order[i] = (int32_t)i;
    rng_shuffle(r, order, n);
    /* centred on zero but offset by half a step, so no value is zero */
    const int32_t half = (int32_t)(n / 2);
    for (size_t i = 0; i < n; i++)
        x[i] = ((float)(order[i] - half) + 0.5f) * spacing;
    free(order);
}

static size_t worst_index(const float *got, const float *want, size_t n, double *max_diff,
                          double *max_want)
{
    size_t worst = 0;
    *max_diff = 0.0;
    *max_want = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - want[i]);
        if (d > *max_diff || isnan(d)) {
            *max_diff = isnan(d) ? INFINITY : d;
            worst = i;
        }
        if (fabs(want[i]) > *max_want)
            *max_want = fabs(want[i]);
    }
    return worst;
}

double normalized_error(const float *got, const float *want, size_t n)
{
    double max_diff, max_want;
    worst_index(got, want, n, &max_diff, &max_want);
    return max_want > 0.0 ? max_diff / max_want : max_diff;
}

void expect_close(const char *what, const float *got, const float *want, size_t n,
                  double tolerance)
{
    double max_diff, max_want;
    const size_t worst = worst_index(got, want, n, &max_diff, &max_want);
    const double err = max_want > 0.0 ? max_diff / max_want : max_diff;
    cr_expect(err <= tolerance,
              "%s: normalized error %.3g > %.3g (worst at %zu of %zu: got %.9g, want %.9g; "
              "max |want| %.3g)",
              what, err, tolerance, worst, n, n ? got[worst] : 0.0f, n ? want[worst] : 0.0f,
              max_want);
}

double weighted_sum(const float *y, const float *r, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)y[i] * r[i];
    return sum;
}

double central_difference(loss_fn loss, void *ctx, float *v, float step)
{
    const float original = *v;
    *v = original + step;
    const double up = loss(ctx);
    *v = original - step;
    const double down = loss(ctx);
    *v = original;
    /* divide by the step the float values really took, not the nominal one */
    return (up - down) / ((double)(original + step) - (double)(original - step));
}

void expect_gradient(const char *what, const float *grad, float prior, float *values, size_t n,
                     loss_fn loss, void *ctx)
{
    float *added = malloc(sizeof *added * (n ? n : 1));
    float *numeric = malloc(sizeof *numeric * (n ? n : 1));
    cr_assert(added && numeric);
    /* Thousands of tiny forward passes: with several threads each, the OpenMP
     * threads of parallel test jobs spin against each other at every barrier
     * (18 s instead of 1 s for the layer suite on two cores). The kernels under
     * test already ran with the default thread count. */
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    for (size_t i = 0; i < n; i++) {
        added[i] = grad[i] - prior;
        numeric[i] = (float)central_difference(loss, ctx, &values[i], FD_STEP);
    }
    omp_set_num_threads(threads);
    expect_close(what, added, numeric, n, GRADIENT_TOLERANCE);
    free(added);
    free(numeric);
}

void scratch_folder_make(char *root, size_t len, const char *name)
{
    snprintf(root, len, "/tmp/dsrbench-%s-%d", name, (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", root, root);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

void scratch_folder_remove(const char *root)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}
