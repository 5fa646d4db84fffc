/* Batch assembly: stored uint8 images to normalized CNHW float batches, with
 * the training augmentations (padded random crop, horizontal flip,
 * random-resized-crop).
 *
 * Each output image follows a plan drawn beforehand: the padded random crop
 * is a shift of the stored image (pixels shifted in from outside come from
 * the border rule), a box of that shifted image is resized to the output,
 * and the result may be mirrored. All plans of a chunk of images are drawn
 * one image after another, then the pixel work runs in parallel, so the
 * batch depends on the stream state alone, not on the thread count. */
#include <math.h>
#include <stdint.h>

#include "dataset.h"

enum {
    PLAN_CHUNK = 256,
    RESIZED_CROP_TRIES = 10,
    /* below this many output values per chunk threads cost more than they save */
    PARALLEL_MIN_VALUES = 1 << 15,
};
/* torchvision's RandomResizedCrop defaults */
static const double crop_area_min = 0.08, crop_area_max = 1.0;
static const double crop_ratio_min = 3.0 / 4.0, crop_ratio_max = 4.0 / 3.0;

struct plan {
    int32_t example;
    int shift_y, shift_x;           /* shifted (y, x) shows stored (y + shift_y, x + shift_x) */
    int box_y, box_x, box_h, box_w; /* the region of the shifted image resized to the output */
    int flip;
};

/* out_h x out_w from the middle, or all of a side that is smaller */
static void center_box(const struct dataset *d, const struct pipeline *p, struct plan *pl)
{
    pl->box_h = p->out_h < d->h ? p->out_h : d->h;
    pl->box_w = p->out_w < d->w ? p->out_w : d->w;
    pl->box_y = (d->h - pl->box_h) / 2;
    pl->box_x = (d->w - pl->box_w) / 2;
}

static void draw_resized_crop_box(struct rng *r, int h, int w, struct plan *pl)
{
    double area = (double)h * w;
    double log_ratio_min = log(crop_ratio_min), log_ratio_max = log(crop_ratio_max);
    for (int t = 0; t < RESIZED_CROP_TRIES; t++) {
        double target = area * (crop_area_min + (crop_area_max - crop_area_min) * rng_uniform(r));
        double ratio = exp(log_ratio_min + (log_ratio_max - log_ratio_min) * rng_uniform(r));
        int box_w = (int)lround(sqrt(target * ratio));
        int box_h = (int)lround(sqrt(target / ratio));
        if (box_w > 0 && box_w <= w && box_h > 0 && box_h <= h) {
            pl->box_y = (int)rng_below(r, (uint64_t)(h - box_h + 1));
            pl->box_x = (int)rng_below(r, (uint64_t)(w - box_w + 1));
            pl->box_h = box_h;
            pl->box_w = box_w;
            return;
        }
    }
    /* every try missed: the whole image, cut to the nearest allowed ratio */
    double ratio = (double)w / h;
    pl->box_w = w;
    pl->box_h = h;
    if (ratio < crop_ratio_min)
        pl->box_h = (int)lround(w / crop_ratio_min);
    else if (ratio > crop_ratio_max)
        pl->box_w = (int)lround(h * crop_ratio_max);
    pl->box_y = (h - pl->box_h) / 2;
    pl->box_x = (w - pl->box_w) / 2;
}

static void draw_plan(const struct dataset *d, const struct pipeline *p, int train,
                      struct rng *r, struct plan *pl)
{
    const struct augment *aug = &p->train_aug;
    pl->shift_y = pl->shift_x = pl->flip = 0;
    if (train && aug->crop_pad > 0) {
        uint64_t positions = 2 * (uint64_t)aug->crop_pad + 1;
        pl->shift_y = (int)rng_below(r, positions) - aug->crop_pad;
        pl->shift_x = (int)rng_below(r, positions) - aug->crop_pad;
    }
    if (train && aug->random_resized_crop)
        draw_resized_crop_box(r, d->h, d->w, pl);
    else
        center_box(d, p, pl);
    if (train && aug->hflip)
        pl->flip = rng_uniform(r) < 0.5f;
}

/* an index outside 0..n-1 mirrored back in (edge not repeated, as numpy's
 * and torchvision's "reflect"), or -1 for zero padding */
static int border_index(int i, int n, int reflect)
{
    if (i >= 0 && i < n)
        return i;
    if (!reflect)
        return -1;
    if (n == 1)
        return 0;
    int period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < n ? i : period - i;
}

struct source {
    const uint8_t *plane; /* one channel of the stored image */
    int h, w, reflect;
    const struct plan *plan;
};

/* pixel (y, x) of the shifted image */
static uint8_t shifted_pixel(const struct source *s, int y, int x)
{
    int sy = border_index(y + s->plan->shift_y, s->h, s->reflect);
    int sx = border_index(x + s->plan->shift_x, s->w, s->reflect);
    return sy < 0 || sx < 0 ? 0 : s->plane[sy * s->w + sx];
}

static float normalized(float pixel, float mean, float std)
{
    return (pixel / 255.0f - mean) / std;
}

/* the box copied pixel for pixel (it has the output's size) */
static void copy_box(const struct source *s, const float *lut, int out_h, int out_w, float *out)
{
    const struct plan *pl = s->plan;
    for (int y = 0; y < out_h; y++)
        for (int x = 0; x < out_w; x++) {
            int bx = pl->flip ? out_w - 1 - x : x;
            out[y * out_w + x] = lut[shifted_pixel(s, pl->box_y + y, pl->box_x + bx)];
        }
}

/* where output index i samples a box side of `box` pixels: half-pixel
 * centres, clamped to the box (no antialiasing) */
static void bilinear_tap(int i, int out, int box, int *lo, int *hi, float *frac)
{
    float at = ((float)i + 0.5f) * (float)box / (float)out - 0.5f;
    if (at < 0.0f)
        at = 0.0f;
    *lo = (int)at; /* at < box - 1/2, so lo stays inside the box */
    *hi = *lo + 1 < box ? *lo + 1 : box - 1;
    *frac = at - (float)*lo;
}

static void resize_box(const struct source *s, float mean, float std, int out_h, int out_w,
                       float *out)
{
    const struct plan *pl = s->plan;
    for (int y = 0; y < out_h; y++) {
        int y0, y1;
        float fy;
        bilinear_tap(y, out_h, pl->box_h, &y0, &y1, &fy);
        for (int x = 0; x < out_w; x++) {
            int x0, x1;
            float fx;
            bilinear_tap(pl->flip ? out_w - 1 - x : x, out_w, pl->box_w, &x0, &x1, &fx);
            int top = pl->box_y + y0, bottom = pl->box_y + y1;
            int left = pl->box_x + x0, right = pl->box_x + x1;
            float upper =
                (1.0f - fx) * shifted_pixel(s, top, left) + fx * shifted_pixel(s, top, right);
            float lower =
                (1.0f - fx) * shifted_pixel(s, bottom, left) + fx * shifted_pixel(s, bottom, right);
            out[y * out_w + x] = normalized((1.0f - fy) * upper + fy * lower, mean, std);
        }
    }
}

static void render(const struct dataset *d, const struct pipeline *p, const struct plan *pl,
                   const float (*lut)[256], int n, int i, float *out)
{
    size_t plane_size = (size_t)p->out_h * (size_t)p->out_w;
    const uint8_t *image = d->pixels + (size_t)pl->example * dataset_image_bytes(d);
    int resized = pl->box_h != p->out_h || pl->box_w != p->out_w;
    for (int c = 0; c < d->c; c++) {
        struct source s = {image + (size_t)c * d->h * d->w, d->h, d->w, p->train_aug.reflect_pad,
                           pl};
        float *plane = out + ((size_t)c * n + i) * plane_size;
        if (resized)
            resize_box(&s, p->norm.mean[c], p->norm.std[c], p->out_h, p->out_w, plane);
        else
            copy_box(&s, lut[c], p->out_h, p->out_w, plane);
    }
}

void batch_assemble(const struct dataset *d, const struct pipeline *p, int train,
                    const int32_t *order, int first, int n, struct rng *augment_stream,
                    float *out, int32_t *labels)
{
    float lut[DATASET_MAX_CHANNELS][256];
    for (int c = 0; c < d->c; c++)
        for (int v = 0; v < 256; v++)
            lut[c][v] = normalized((float)v, p->norm.mean[c], p->norm.std[c]);
    /* cppcheck-suppress unreadVariable ; read by the omp pragma's if clause */
    const long values_per_image = (long)d->c * p->out_h * p->out_w;
    struct plan plans[PLAN_CHUNK];
    for (int start = 0; start < n; start += PLAN_CHUNK) {
        int m = n - start < PLAN_CHUNK ? n - start : PLAN_CHUNK;
        for (int j = 0; j < m; j++) {
            int at = first + start + j;
            plans[j].example = order ? order[at] : at;
            draw_plan(d, p, train, augment_stream, &plans[j]);
            labels[start + j] = d->labels[plans[j].example];
        }
#pragma omp parallel for schedule(static) if (m * values_per_image >= PARALLEL_MIN_VALUES)
        for (int j = 0; j < m; j++)
            render(d, p, &plans[j], (const float (*)[256])lut, n, start + j, out);
    }
}
