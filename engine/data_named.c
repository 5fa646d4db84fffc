/* Data sets by name: where their files live, how to load both splits, and
 * each one's standard input pipeline; plus the allocation and error helpers
 * the format loaders share. */
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"

enum { PATH_CAPACITY = 4096, CIFAR10_TRAIN_FILES = 5 };

static const struct kind_info {
    const char *name;
    const char *default_dir;
    /* appended to "missing file" errors: how to get the files */
    const char *missing_hint;
    /* the standard pipeline: published training-set statistics on the
     * [0, 1] scale, the usual augmentation, the side of the official images
     * (used when no data set is given) and the largest output side (0: the
     * stored size) */
    int channels;
    float mean[3], std[3];
    struct augment train_aug;
    int side, max_out_side;
} kinds[] = {
    [DATA_FASHION_MNIST] = {"fashion-mnist", "/usr/share/datasets/fashion-mnist",
                            "install the Debian package dataset-fashion-mnist or pass --data-dir",
                            1, {0.2860f}, {0.3530f}, {0}, 28, 0},
    [DATA_MNIST] = {"mnist", "/usr/share/datasets/mnist",
                    "put the four MNIST IDX files (gzip or plain) there or pass --data-dir", 1,
                    {0.1307f}, {0.3081f}, {0}, 28, 0},
    [DATA_CIFAR10] = {"cifar10", "data/cifar-10-batches-bin",
                      "run \"make data-cifar10\" (needs internet) or pass --data-dir", 3,
                      {125.3f / 255, 123.0f / 255, 113.9f / 255},
                      {63.0f / 255, 62.1f / 255, 66.7f / 255},
                      {.crop_pad = 4, .reflect_pad = 1, .hflip = 1}, 32, 0},
    [DATA_IMAGENET_SHARDS] = {"imagenet-shards", "data/imagenet-shards",
                              "write train-*.shard and val-*.shard files in the dsrbench shard "
                              "format (README) there or pass --data-dir",
                              3, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f},
                              {.hflip = 1, .random_resized_crop = 1}, 224, 224},
};
enum { KIND_COUNT = sizeof kinds / sizeof kinds[0] };

int data_error(char *err, size_t err_len, const char *path, const char *fmt, ...)
{
    int prefix = snprintf(err, err_len, "%s: ", path);
    if (prefix >= 0 && (size_t)prefix < err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + prefix, err_len - (size_t)prefix, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int data_check_label(uint32_t label, int classes, const char *path, long index, char *err,
                     size_t err_len)
{
    if (label < (uint32_t)classes)
        return 0;
    return data_error(err, err_len, path, "label %u at index %ld is outside 0..%d", label, index,
                      classes - 1);
}

void dataset_free(struct dataset *d)
{
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

void dataset_truncate(struct dataset *d, int n)
{
    if (n >= 0 && n < d->count)
        d->count = n;
}

int dataset_check_shape(uint64_t count, uint32_t c, uint32_t h, uint32_t w, uint32_t classes,
                        const char *path, char *err, size_t err_len)
{
    if (count == 0)
        return data_error(err, err_len, path, "holds no examples");
    if (count > INT_MAX || classes == 0 || classes > INT_MAX)
        return data_error(err, err_len, path, "%llu examples of %u classes is out of range",
                          (unsigned long long)count, classes);
    if (c == 0 || c > DATASET_MAX_CHANNELS)
        return data_error(err, err_len, path, "%u channels, expected 1..%d", c,
                          DATASET_MAX_CHANNELS);
    if (h == 0 || w == 0 || h > INT_MAX || w > INT_MAX || (uint64_t)c * h * w > INT_MAX)
        return data_error(err, err_len, path, "image size %ux%ux%u is out of range", c, h, w);
    return 0;
}

int dataset_alloc(struct dataset *d, uint64_t count, uint32_t c, uint32_t h, uint32_t w,
                  uint32_t classes, const char *path, char *err, size_t err_len)
{
    memset(d, 0, sizeof *d);
    if (dataset_check_shape(count, c, h, w, classes, path, err, err_len))
        return -1;
    size_t image_bytes = (size_t)c * h * w;
    if (count > SIZE_MAX / image_bytes)
        return data_error(err, err_len, path, "%llu images of %ux%ux%u do not fit in memory",
                          (unsigned long long)count, c, h, w);
    d->pixels = malloc((size_t)count * image_bytes);
    d->labels = calloc(count, sizeof *d->labels);
    if (!d->pixels || !d->labels) {
        dataset_free(d);
        return data_error(err, err_len, path, "out of memory for %llu images of %ux%ux%u",
                          (unsigned long long)count, c, h, w);
    }
    *d = (struct dataset){.count = (int)count, .c = (int)c, .h = (int)h, .w = (int)w,
                          .classes = (int)classes, .pixels = d->pixels, .labels = d->labels};
    return 0;
}

int data_kind_parse(const char *name, enum data_kind *kind)
{
    for (int k = 0; k < KIND_COUNT; k++) {
        if (strcmp(name, kinds[k].name) == 0) {
            *kind = (enum data_kind)k;
            return 0;
        }
    }
    return -1;
}

const char *data_kind_name(enum data_kind kind)
{
    return (unsigned)kind < KIND_COUNT ? kinds[kind].name : "unknown";
}

const char *data_default_dir(enum data_kind kind)
{
    return (unsigned)kind < KIND_COUNT ? kinds[kind].default_dir : NULL;
}

static const char *resolve_dir(enum data_kind kind, const char *dir)
{
    if (dir && dir[0])
        return dir;
    const char *env = getenv("DSRBENCH_DATA");
    return env && env[0] ? env : data_default_dir(kind);
}

static int join_path(char *path, const char *dir, const char *name, char *err, size_t err_len)
{
    int n = snprintf(path, PATH_CAPACITY, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_CAPACITY)
        return data_error(err, err_len, dir, "path too long");
    return 0;
}

static int missing_file(enum data_kind kind, const char *path, char *err, size_t err_len)
{
    return data_error(err, err_len, path, "no such file; %s", kinds[kind].missing_hint);
}

/* dir/name.gz, or dir/name when only that exists: IDX files come both ways */
static int find_idx_file(enum data_kind kind, const char *dir, const char *name, char *path,
                         char *err, size_t err_len)
{
    char gz_name[128];
    snprintf(gz_name, sizeof gz_name, "%s.gz", name);
    if (join_path(path, dir, name, err, err_len))
        return -1;
    if (access(path, F_OK) == 0)
        return 0;
    if (join_path(path, dir, gz_name, err, err_len))
        return -1;
    if (access(path, F_OK) == 0)
        return 0;
    return data_error(err, err_len, path, "no such file (nor without .gz); %s",
                      kinds[kind].missing_hint);
}

static int load_idx_split(enum data_kind kind, const char *dir, const char *split,
                          struct dataset *out, char *err, size_t err_len)
{
    char name[64], images[PATH_CAPACITY], labels[PATH_CAPACITY];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", split);
    if (find_idx_file(kind, dir, name, images, err, err_len))
        return -1;
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", split);
    if (find_idx_file(kind, dir, name, labels, err, err_len))
        return -1;
    return idx_load(images, labels, out, err, err_len);
}

static int load_idx_named(enum data_kind kind, const char *dir, struct dataset *train,
                          struct dataset *test, char *err, size_t err_len)
{
    if (load_idx_split(kind, dir, "train", train, err, err_len))
        return -1;
    return load_idx_split(kind, dir, "t10k", test, err, err_len);
}

static int load_cifar_files(const char *dir, const char *const *names, int n_names,
                            struct dataset *out, char *err, size_t err_len)
{
    char paths[CIFAR10_TRAIN_FILES][PATH_CAPACITY];
    const char *path_list[CIFAR10_TRAIN_FILES];
    for (int i = 0; i < n_names; i++) {
        if (join_path(paths[i], dir, names[i], err, err_len))
            return -1;
        if (access(paths[i], F_OK) != 0)
            return missing_file(DATA_CIFAR10, paths[i], err, err_len);
        path_list[i] = paths[i];
    }
    return cifar10_load(path_list, n_names, out, err, err_len);
}

static int load_cifar_named(const char *dir, struct dataset *train, struct dataset *test,
                            char *err, size_t err_len)
{
    static const char *const train_names[CIFAR10_TRAIN_FILES] = {
        "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
        "data_batch_5.bin"};
    static const char *const test_names[] = {"test_batch.bin"};
    if (load_cifar_files(dir, train_names, CIFAR10_TRAIN_FILES, train, err, err_len))
        return -1;
    return load_cifar_files(dir, test_names, 1, test, err, err_len);
}

/* every dir/prefix-*.shard, in sorted name order */
static int load_shard_split(const char *dir, const char *prefix, struct dataset *out, char *err,
                            size_t err_len)
{
    char pattern[PATH_CAPACITY], name[64];
    snprintf(name, sizeof name, "%s-*.shard", prefix);
    if (join_path(pattern, dir, name, err, err_len))
        return -1;
    glob_t found;
    int rc = glob(pattern, 0, NULL, &found);
    if (rc == GLOB_NOMATCH)
        return data_error(err, err_len, pattern, "no files match; %s",
                          kinds[DATA_IMAGENET_SHARDS].missing_hint);
    if (rc != 0)
        return data_error(err, err_len, pattern, "cannot list the folder");
    if (found.gl_pathc > INT_MAX) {
        globfree(&found);
        return data_error(err, err_len, pattern, "too many files");
    }
    rc = shards_load((const char *const *)found.gl_pathv, (int)found.gl_pathc, out, err, err_len);
    globfree(&found);
    return rc;
}

static int load_shards_named(const char *dir, struct dataset *train, struct dataset *test,
                             char *err, size_t err_len)
{
    if (load_shard_split(dir, "train", train, err, err_len))
        return -1;
    return load_shard_split(dir, "val", test, err, err_len);
}

static int check_same_shape(const struct dataset *train, const struct dataset *test,
                            const char *dir, char *err, size_t err_len)
{
    if (train->c == test->c && train->h == test->h && train->w == test->w &&
        train->classes == test->classes)
        return 0;
    return data_error(err, err_len, dir,
                      "training images are %dx%dx%d with %d classes but test images are "
                      "%dx%dx%d with %d classes",
                      train->c, train->h, train->w, train->classes, test->c, test->h, test->w,
                      test->classes);
}

int dataset_load_named(enum data_kind kind, const char *dir, struct dataset *train,
                       struct dataset *test, char *err, size_t err_len)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if ((unsigned)kind >= KIND_COUNT)
        return data_error(err, err_len, "data set", "unknown kind %d", (int)kind);
    dir = resolve_dir(kind, dir);
    int rc;
    switch (kind) {
    case DATA_CIFAR10:
        rc = load_cifar_named(dir, train, test, err, err_len);
        break;
    case DATA_IMAGENET_SHARDS:
        rc = load_shards_named(dir, train, test, err, err_len);
        break;
    default:
        rc = load_idx_named(kind, dir, train, test, err, err_len);
        break;
    }
    if (rc == 0)
        rc = check_same_shape(train, test, dir, err, err_len);
    if (rc != 0) {
        dataset_free(train);
        dataset_free(test);
    }
    return rc;
}

static int output_side(const struct kind_info *k, int stored)
{
    return k->max_out_side && stored > k->max_out_side ? k->max_out_side : stored;
}

void data_pipeline_defaults(enum data_kind kind, const struct dataset *train, struct pipeline *p)
{
    const struct kind_info *k = &kinds[kind];
    memset(p, 0, sizeof *p);
    for (int c = 0; c < DATASET_MAX_CHANNELS; c++) {
        p->norm.mean[c] = c < k->channels ? k->mean[c] : 0.0f;
        p->norm.std[c] = c < k->channels ? k->std[c] : 1.0f;
    }
    p->train_aug = k->train_aug;
    p->out_h = output_side(k, train ? train->h : k->side);
    p->out_w = output_side(k, train ? train->w : k->side);
}
