/* Batch assembly: normalizes, lays out CNHW and augments with the geometry
 * and determinism promised in dataset.h. */
#include <criterion/criterion.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "test_images.h"

Test(batch, pipeline_defaults)
{
    struct dataset cifar = {.count = 1, .c = 3, .h = 32, .w = 32, .classes = 10};
    struct pipeline p;
    data_pipeline_defaults(DATA_CIFAR10, &cifar, &p);
    cr_assert_float_eq(p.norm.mean[0], 125.3f / 255, 1e-7);
    cr_assert_float_eq(p.norm.std[2], 66.7f / 255, 1e-7);
    cr_assert(p.train_aug.crop_pad == 4 && p.train_aug.reflect_pad && p.train_aug.hflip);
    cr_assert(p.out_h == 32 && p.out_w == 32);

    struct dataset fashion = {.count = 1, .c = 1, .h = 28, .w = 28, .classes = 10};
    data_pipeline_defaults(DATA_FASHION_MNIST, &fashion, &p);
    cr_assert_float_eq(p.norm.mean[0], 0.2860f, 1e-7);
    cr_assert_float_eq(p.norm.std[0], 0.3530f, 1e-7);
    cr_assert(!p.train_aug.crop_pad && !p.train_aug.hflip && !p.train_aug.random_resized_crop);

    struct dataset big = {.count = 1, .c = 3, .h = 256, .w = 256, .classes = 1000};
    struct dataset small = {.count = 1, .c = 3, .h = 64, .w = 64, .classes = 1000};
    data_pipeline_defaults(DATA_IMAGENET_SHARDS, &big, &p);
    cr_assert(p.out_h == 224 && p.out_w == 224 && p.train_aug.random_resized_crop);
    cr_assert_float_eq(p.norm.std[1], 0.224f, 1e-7);
    data_pipeline_defaults(DATA_IMAGENET_SHARDS, &small, &p);
    cr_assert(p.out_h == 64 && p.out_w == 64);
}

/* ---- batch assembly ---- */

/* pipeline with mean 0.5 and std 0.25 in every channel, no augmentation */
static struct pipeline plain_pipeline(const struct dataset *d)
{
    struct pipeline p = {.out_h = d->h, .out_w = d->w};
    for (int c = 0; c < DATASET_MAX_CHANNELS; c++) {
        p.norm.mean[c] = 0.5f;
        p.norm.std[c] = 0.25f;
    }
    return p;
}

static float expected_value(uint8_t pixel)
{
    return ((float)pixel / 255.0f - 0.5f) / 0.25f;
}

static uint8_t stored(const struct dataset *d, int image, int c, int y, int x)
{
    return d->pixels[(((size_t)image * d->c + c) * d->h + y) * d->w + x];
}

static float output(const float *out, const struct pipeline *p, int n, int image, int c, int y,
                    int x)
{
    return out[(((size_t)c * n + image) * p->out_h + y) * p->out_w + x];
}

Test(batch, batch_normalizes_exactly_in_cnhw_order)
{
    struct dataset d = test_dataset(5, 2, 3, 4, 10, 0);
    struct pipeline p = plain_pipeline(&d);
    const int32_t order[] = {4, 0, 3, 1, 2};
    float out[3 * 2 * 12];
    int32_t labels[3];
    batch_assemble(&d, &p, 0, order, 1, 3, NULL, out, labels);
    for (int i = 0; i < 3; i++) {
        int example = order[1 + i];
        cr_assert_eq(labels[i], d.labels[example]);
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 4; x++)
                    cr_assert_eq(output(out, &p, 3, i, c, y, x),
                                 expected_value(stored(&d, example, c, y, x)));
    }
    dataset_free(&d);
}

Test(batch, batch_without_order_takes_stored_order)
{
    struct dataset d = test_dataset(6, 1, 2, 2, 10, 0);
    struct pipeline p = plain_pipeline(&d);
    const int32_t identity[] = {0, 1, 2, 3, 4, 5};
    float with_order[16], without_order[16];
    int32_t labels_a[4], labels_b[4];
    batch_assemble(&d, &p, 0, identity, 2, 4, NULL, with_order, labels_a);
    batch_assemble(&d, &p, 0, NULL, 2, 4, NULL, without_order, labels_b);
    cr_assert_arr_eq(with_order, without_order, sizeof with_order);
    cr_assert_arr_eq(labels_a, labels_b, sizeof labels_a);
    dataset_free(&d);
}

Test(batch, batch_flip_reverses_rows)
{
    enum { N = 64 };
    struct dataset d = test_dataset(N, 2, 3, 5, 10, 0);
    struct pipeline p = plain_pipeline(&d);
    p.train_aug.hflip = 1;
    static float out[2 * N * 15];
    int32_t labels[N];
    struct rng r = rng_stream(7, RNG_AUGMENT);
    batch_assemble(&d, &p, 1, NULL, 0, N, &r, out, labels);
    int flipped = 0;
    for (int i = 0; i < N; i++) {
        int mirror = output(out, &p, N, i, 0, 0, 0) != expected_value(stored(&d, i, 0, 0, 0));
        flipped += mirror;
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 5; x++)
                    cr_assert_eq(output(out, &p, N, i, c, y, x),
                                 expected_value(stored(&d, i, c, y, mirror ? 4 - x : x)),
                                 "image %d", i);
    }
    cr_assert(flipped > N / 4 && flipped < 3 * N / 4, "%d of %d flipped", flipped, N);
    dataset_free(&d);
}

/* the stored pixel a shifted image shows at (y, x), or -1 for zero padding */
static int padded_pixel(const struct dataset *d, int image, int c, int y, int x, int reflect)
{
    if (reflect) {
        y = y < 0 ? -y : y >= d->h ? 2 * (d->h - 1) - y : y;
        x = x < 0 ? -x : x >= d->w ? 2 * (d->w - 1) - x : x;
    }
    if (y < 0 || y >= d->h || x < 0 || x >= d->w)
        return -1;
    return stored(d, image, c, y, x);
}

static int shows_shift(const struct dataset *d, const struct pipeline *p, const float *out,
                       int n, int i, int dy, int dx)
{
    for (int c = 0; c < d->c; c++)
        for (int y = 0; y < d->h; y++)
            for (int x = 0; x < d->w; x++) {
                int v = padded_pixel(d, i, c, y + dy, x + dx, p->train_aug.reflect_pad);
                if (output(out, p, n, i, c, y, x) != expected_value(v < 0 ? 0 : (uint8_t)v))
                    return 0;
            }
    return 1;
}

/* every image is the stored one shifted by some (dy, dx) within the pad;
 * returns how many different shifts occurred */
static int check_padded_crops(int reflect)
{
    enum { N = 40, PAD = 2 };
    struct dataset d = test_dataset(N, 1, 6, 6, 10, 0);
    struct pipeline p = plain_pipeline(&d);
    p.train_aug.crop_pad = PAD;
    p.train_aug.reflect_pad = reflect;
    static float out[N * 36];
    int32_t labels[N];
    struct rng r = rng_stream(11, RNG_AUGMENT);
    batch_assemble(&d, &p, 1, NULL, 0, N, &r, out, labels);
    int seen[2 * PAD + 1][2 * PAD + 1] = {{0}}, distinct = 0;
    for (int i = 0; i < N; i++) {
        int found = 0;
        for (int dy = -PAD; dy <= PAD && !found; dy++)
            for (int dx = -PAD; dx <= PAD && !found; dx++)
                if (shows_shift(&d, &p, out, N, i, dy, dx)) {
                    found = 1;
                    distinct += !seen[dy + PAD][dx + PAD]++;
                }
        cr_assert(found, "image %d is no shifted copy (reflect %d)", i, reflect);
    }
    dataset_free(&d);
    return distinct;
}

Test(batch, batch_reflect_padded_crop_is_shifted_copy)
{
    cr_assert_gt(check_padded_crops(1), 5);
}

Test(batch, batch_zero_padded_crop_is_shifted_copy)
{
    cr_assert_gt(check_padded_crops(0), 5);
}

/* the whole of d, augmented with every augmentation, on `threads` threads */
static void augmented_batch(const struct dataset *d, struct rng *r, int threads, float *out,
                            int32_t *labels)
{
    struct pipeline p = plain_pipeline(d);
    p.train_aug = (struct augment){.crop_pad = 2, .reflect_pad = 1, .hflip = 1,
                                   .random_resized_crop = 1};
    omp_set_num_threads(threads);
    batch_assemble(d, &p, 1, NULL, 0, d->count, r, out, labels);
}

Test(batch, batch_same_stream_state_gives_same_batch_on_any_thread_count)
{
    enum { N = 300 }; /* more than one plan chunk, enough values to run in parallel */
    struct dataset d = test_dataset(N, 3, 8, 8, 10, 0);
    size_t values = (size_t)3 * N * 64;
    float *a = malloc(values * sizeof *a), *b = malloc(values * sizeof *b);
    int32_t labels[N];
    struct rng ra = rng_stream(5, RNG_AUGMENT), rb = ra, rc = rng_stream(6, RNG_AUGMENT);
    augmented_batch(&d, &ra, 1, a, labels);
    augmented_batch(&d, &rb, 3, b, labels);
    cr_assert_arr_eq(a, b, values * sizeof *a);
    cr_assert_arr_eq(ra.s, rb.s, sizeof ra.s, "streams ended in different states");
    augmented_batch(&d, &rc, 3, b, labels);
    cr_assert(memcmp(a, b, values * sizeof *a) != 0, "another stream gave the same batch");
    free(a);
    free(b);
    dataset_free(&d);
}

Test(batch, batch_eval_center_crops_without_randomness)
{
    struct dataset d = test_dataset(3, 2, 6, 7, 10, 0);
    struct pipeline p = plain_pipeline(&d);
    p.train_aug = (struct augment){.crop_pad = 2, .hflip = 1, .random_resized_crop = 1};
    p.out_h = 4;
    p.out_w = 3;
    float out[2 * 3 * 12];
    int32_t labels[3];
    struct rng r = rng_stream(1, RNG_AUGMENT), before = r;
    batch_assemble(&d, &p, 0, NULL, 0, 3, &r, out, labels);
    cr_assert_arr_eq(r.s, before.s, sizeof r.s, "eval mode drew random numbers");
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 3; x++)
                    cr_assert_eq(output(out, &p, 3, i, c, y, x),
                                 expected_value(stored(&d, i, c, y + 1, x + 2)));
    dataset_free(&d);
}

/* pixel = 10 * x: a horizontal ramp, so any crop of it is a ramp too */
static struct dataset ramp_dataset(int count, int h, int w)
{
    struct dataset d = test_dataset(count, 1, h, w, 10, 0);
    for (int i = 0; i < count; i++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                d.pixels[((size_t)i * h + y) * w + x] = (uint8_t)(10 * x);
    return d;
}

Test(batch, batch_random_resized_crop_resamples_a_box)
{
    enum { N = 50, SIDE = 20, OUT = 8 };
    struct dataset d = ramp_dataset(N, SIDE, SIDE);
    struct pipeline p = plain_pipeline(&d);
    p.train_aug.random_resized_crop = 1;
    p.out_h = p.out_w = OUT;
    static float out[N * OUT * OUT], again[N * OUT * OUT];
    int32_t labels[N];
    struct rng r = rng_stream(3, RNG_AUGMENT), copy = r;
    batch_assemble(&d, &p, 1, NULL, 0, N, &r, out, labels);
    batch_assemble(&d, &p, 1, NULL, 0, N, &copy, again, labels);
    cr_assert_arr_eq(out, again, sizeof out);
    float lowest = expected_value(0), highest = expected_value(10 * (SIDE - 1));
    int widths_differ = 0;
    for (int i = 0; i < N; i++) {
        for (int y = 0; y < OUT; y++) {
            /* every row of a ramp crop is the same non-decreasing ramp */
            for (int x = 0; x < OUT; x++) {
                float v = output(out, &p, N, i, 0, y, x);
                cr_assert(v >= lowest - 1e-5f && v <= highest + 1e-5f);
                cr_assert_eq(v, output(out, &p, N, i, 0, 0, x));
                if (x > 0)
                    cr_assert_geq(v, output(out, &p, N, i, 0, y, x - 1));
            }
        }
        float span = output(out, &p, N, i, 0, 0, OUT - 1) - output(out, &p, N, i, 0, 0, 0);
        float first_span = output(out, &p, N, 0, 0, 0, OUT - 1) - output(out, &p, N, 0, 0, 0, 0);
        widths_differ += span != first_span;
    }
    cr_assert_gt(widths_differ, 0, "every crop had the same width");
    dataset_free(&d);
}

Test(batch, batch_resize_of_whole_image_keeps_a_ramp_exact_at_equal_size)
{
    /* out == stored and no crop: the resize path must not be taken, so the
     * ramp comes through unchanged; an upsample (out > stored) interpolates */
    struct dataset d = ramp_dataset(1, 3, 4);
    struct pipeline p = plain_pipeline(&d);
    float same[12], up[6 * 8];
    int32_t label;
    batch_assemble(&d, &p, 0, NULL, 0, 1, NULL, same, &label);
    for (int x = 0; x < 4; x++)
        cr_assert_eq(same[x], expected_value((uint8_t)(10 * x)));
    p.out_h = 6;
    p.out_w = 8;
    batch_assemble(&d, &p, 0, NULL, 0, 1, NULL, up, &label);
    /* output x = 3 sits at source x = 1.25: a quarter of the way from 10 to 20 */
    cr_assert_float_eq(up[3], ((12.5f / 255.0f) - 0.5f) / 0.25f, 1e-6);
    cr_assert_eq(up[0], expected_value(0));
    cr_assert_eq(up[7], expected_value(30));
    dataset_free(&d);
}
