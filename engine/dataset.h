/* Image classification data sets held in memory as uint8 pixels, NCHW per
 * image, plus int32 labels, and the batch assembly that turns them into
 * normalized, augmented CNHW float batches for the network.
 *
 * Every loader refuses a missing, truncated, corrupt or inconsistent file
 * (bad magic, wrong sizes, label out of range, bad gzip) with a message that
 * names the file and what was wrong, written into err; it returns -1 then and
 * leaves *out empty. */
#ifndef DSRBENCH_DATASET_H
#define DSRBENCH_DATASET_H
#include <stddef.h>
#include <stdint.h>

#include "rng.h"

struct dataset {
    int count, c, h, w, classes;
    uint8_t *pixels; /* count x c x h x w */
    int32_t *labels; /* count, each in [0, classes) */
};

/* struct normalize holds one mean and std per channel */
#define DATASET_MAX_CHANNELS 4

static inline size_t dataset_image_bytes(const struct dataset *d)
{
    return (size_t)d->c * (size_t)d->h * (size_t)d->w;
}

void dataset_free(struct dataset *d);
/* keeps the first n examples (n <= count); the memory stays allocated */
void dataset_truncate(struct dataset *d, int n);

/* Shared by the loaders. dataset_check_shape checks a shape read from a file
 * (count >= 1, 1..DATASET_MAX_CHANNELS channels, an image size below 2^31
 * bytes, at least one class): -1 with a message naming path when it is
 * unusable. dataset_alloc checks it too and allocates pixels and zeroed
 * labels; -1 also when memory runs out. */
int dataset_check_shape(uint64_t count, uint32_t c, uint32_t h, uint32_t w, uint32_t classes,
                        const char *path, char *err, size_t err_len);
int dataset_alloc(struct dataset *d, uint64_t count, uint32_t c, uint32_t h, uint32_t w,
                  uint32_t classes, const char *path, char *err, size_t err_len);
/* -1 with "path: label L at index I is outside 0..classes-1" when out of range */
int data_check_label(uint32_t label, int classes, const char *path, long index, char *err,
                     size_t err_len);
/* formats "path: message" into err and returns -1 */
int data_error(char *err, size_t err_len, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* IDX pair (images idx3-ubyte, labels idx1-ubyte), plain or gzip */
int idx_load(const char *images_path, const char *labels_path, struct dataset *out, char *err,
             size_t err_len);
/* CIFAR-10 binary records (1 label byte + 3072 pixel bytes) from one or more files */
int cifar10_load(const char *const *paths, int n_paths, struct dataset *out, char *err,
                 size_t err_len);
/* dsrbench image shards (format in data_shards.c and README); appends all files */
int shards_load(const char *const *paths, int n_paths, struct dataset *out, char *err,
                size_t err_len);
int shards_write(const char *path, const struct dataset *d, char *err, size_t err_len);

enum data_kind { DATA_FASHION_MNIST, DATA_MNIST, DATA_CIFAR10, DATA_IMAGENET_SHARDS };

/* Loads the train and test split of a named data set from dir (NULL: the
 * DSRBENCH_DATA environment variable, else the data set's default folder). */
int dataset_load_named(enum data_kind kind, const char *dir, struct dataset *train,
                       struct dataset *test, char *err, size_t err_len);
int data_kind_parse(const char *name, enum data_kind *kind);
const char *data_kind_name(enum data_kind kind);
/* the folder used when neither --data-dir nor DSRBENCH_DATA is given */
const char *data_default_dir(enum data_kind kind);

struct augment {
    int crop_pad;            /* 0: no padded random crop; else pad by this many pixels, crop back */
    int reflect_pad;         /* pad by reflection (else zeros) */
    int hflip;               /* random horizontal flip with probability 1/2 */
    int random_resized_crop; /* ImageNet style: random area 8%-100%, aspect 3/4-4/3,
                                bilinear resize to the pipeline's output size */
};

struct normalize {
    float mean[4], std[4]; /* per channel, on the [0, 1] pixel scale */
};

/* What turns stored images into network inputs. out_h/out_w equal the stored
 * size, or are smaller (ImageNet shards: random-resized-crop in training,
 * center crop for evaluation). */
struct pipeline {
    struct normalize norm;
    struct augment train_aug;
    int out_h, out_w;
};

/* The data set's standard pipeline (CIFAR-10: PAPER.md's mean/std and
 * reflect-pad-4 crop + flip; ImageNet shards: random-resized-crop 224 + flip,
 * center 224 for evaluation, or the stored size when smaller). */
void data_pipeline_defaults(enum data_kind kind, const struct dataset *train,
                            struct pipeline *p);

/* Writes examples order[first .. first+n) of d into out as CNHW floats
 * (c x n x out_h x out_w), normalized; in training mode augmented with
 * p->train_aug, drawing from augment_stream (not touched, and may be NULL, in
 * eval mode). Labels go to labels[0..n). order NULL means examples
 * first .. first+n in stored order. The random numbers of one image are drawn in this order: crop
 * offset y then x (crop_pad), random-resized-crop tries, flip (hflip); images
 * in batch order, so a stream state gives one batch whatever the thread count.
 * Eval mode, and training without random-resized-crop, take the center
 * out_h x out_w of the stored size (bilinear resize when the stored image is
 * smaller than the output). */
void batch_assemble(const struct dataset *d, const struct pipeline *p, int train,
                    const int32_t *order, int first, int n, struct rng *augment_stream,
                    float *out, int32_t *labels);

#endif
