/* Data sets: every loader reads small files written here exactly and refuses
 * each kind of damage with a message naming the file and the fault; the named
 * loader finds files and explains missing ones. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset.h"
#include "test_images.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char temp_dir[64];
static char err[512];

static void make_temp_dir(void)
{
    strcpy(temp_dir, "/tmp/dsrbench-data-XXXXXX");
    cr_assert_not_null(mkdtemp(temp_dir));
    err[0] = '\0';
}

static void remove_temp_dir(void)
{
    DIR *dir = opendir(temp_dir);
    if (!dir)
        return;
    char path[512];
    for (struct dirent *e; (e = readdir(dir));) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof path, "%s/%s", temp_dir, e->d_name);
            remove(path);
        }
    }
    closedir(dir);
    rmdir(temp_dir);
}

TestSuite(data, .init = make_temp_dir, .fini = remove_temp_dir);

/* a path inside the test's folder; ring of buffers so a test can hold several */
static const char *temp_path(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", temp_dir, name);
    return p;
}

/* ---- byte images of files ---- */

struct bytes {
    unsigned char *data;
    size_t len;
};

static void put_byte(struct bytes *b, unsigned v)
{
    b->data = realloc(b->data, b->len + 1);
    cr_assert_not_null(b->data);
    b->data[b->len++] = (unsigned char)v;
}

static void put_be32(struct bytes *b, uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        put_byte(b, (v >> shift) & 0xff);
}

static uint32_t get_le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void write_plain(const char *path, const struct bytes *b)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(b->data, 1, b->len, f), b->len);
    fclose(f);
}

static void write_gzip(const char *path, const struct bytes *b)
{
    gzFile gz = gzopen(path, "wb9");
    cr_assert_not_null(gz);
    cr_assert_eq(gzwrite(gz, b->data, (unsigned)b->len), (int)b->len);
    cr_assert_eq(gzclose(gz), Z_OK);
}

static struct bytes read_plain(const char *path)
{
    struct bytes b = {0};
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    for (int c; (c = fgetc(f)) != EOF;)
        put_byte(&b, (unsigned)c);
    fclose(f);
    return b;
}


static struct bytes idx_images(uint32_t count, uint32_t rows, uint32_t cols)
{
    struct bytes b = {0};
    put_be32(&b, 0x00000803);
    put_be32(&b, count);
    put_be32(&b, rows);
    put_be32(&b, cols);
    for (size_t i = 0; i < count; i++)
        for (size_t k = 0; k < (size_t)rows * cols; k++)
            put_byte(&b, test_pixel(i, k));
    return b;
}

static struct bytes idx_labels(uint32_t count)
{
    struct bytes b = {0};
    put_be32(&b, 0x00000801);
    put_be32(&b, count);
    for (size_t i = 0; i < count; i++)
        put_byte(&b, test_label(i, 10));
    return b;
}

/* the data set the test files describe; pixels c x h x w per image */
static void expect_contents(const struct dataset *d, int count, int c, int h, int w,
                            int classes, int first_image)
{
    cr_assert_eq(d->count, count);
    cr_assert_eq(d->c, c);
    cr_assert_eq(d->h, h);
    cr_assert_eq(d->w, w);
    cr_assert_eq(d->classes, classes);
    size_t image_bytes = (size_t)c * h * w;
    for (int i = 0; i < count; i++) {
        cr_assert_eq(d->labels[i], (int32_t)test_label((size_t)(first_image + i), classes),
                     "label %d", i);
        for (size_t k = 0; k < image_bytes; k++)
            cr_assert_eq(d->pixels[i * image_bytes + k], test_pixel((size_t)(first_image + i), k),
                         "image %d byte %zu", i, k);
    }
}

static void expect_refused(int rc, const struct dataset *d, const char *file, const char *hint)
{
    cr_assert_eq(rc, -1, "accepted a bad file");
    cr_assert_str_not_empty(err);
    cr_assert_not_null(strstr(err, file), "message \"%s\" does not name %s", err, file);
    cr_assert_not_null(strstr(err, hint), "message \"%s\" does not say \"%s\"", err, hint);
    cr_assert_eq(d->count, 0);
    cr_assert_null(d->pixels);
    cr_assert_null(d->labels);
}

/* writes an IDX pair of `count` 5x4 images (gzip when gz) */
static void write_idx_pair(int count, int gz, const char *images, const char *labels)
{
    struct bytes im = idx_images((uint32_t)count, 5, 4), lb = idx_labels((uint32_t)count);
    (gz ? write_gzip : write_plain)(images, &im);
    (gz ? write_gzip : write_plain)(labels, &lb);
    free(im.data);
    free(lb.data);
}

static int load_idx_files(const char *images, const char *labels, struct dataset *d)
{
    return idx_load(temp_path(images), temp_path(labels), d, err, sizeof err);
}

/* ---- IDX ---- */

/* an IDX pair of 23 images written plain or gzip loads back exactly */
static void expect_idx_round_trip(int gz, const char *images, const char *labels)
{
    write_idx_pair(23, gz, temp_path(images), temp_path(labels));
    struct dataset d;
    cr_assert_eq(load_idx_files(images, labels, &d), 0, "%s", err);
    expect_contents(&d, 23, 1, 5, 4, 10, 0);
    dataset_free(&d);
}

Test(data, idx_plain_reads_exactly)
{
    expect_idx_round_trip(0, "im", "lb");
}

Test(data, idx_gzip_reads_exactly)
{
    expect_idx_round_trip(1, "im.gz", "lb.gz");
}

/* writes the image file as given (plain) with good labels, and loads the pair */
static int load_with_images(struct bytes *im, int count, struct dataset *d)
{
    struct bytes lb = idx_labels((uint32_t)count);
    write_plain(temp_path("images.idx"), im);
    write_plain(temp_path("labels.idx"), &lb);
    free(im->data);
    free(lb.data);
    return load_idx_files("images.idx", "labels.idx", d);
}

Test(data, idx_bad_magic_refused)
{
    struct bytes im = idx_images(3, 5, 4);
    im.data[3] = 0x01; /* a labels magic on an images file */
    struct dataset d;
    expect_refused(load_with_images(&im, 3, &d), &d, "images.idx", "bad magic");
}

Test(data, idx_truncated_refused)
{
    struct bytes im = idx_images(3, 5, 4);
    im.len -= 7;
    struct dataset d;
    expect_refused(load_with_images(&im, 3, &d), &d, "images.idx", "truncated");
}

Test(data, idx_trailing_bytes_refused)
{
    struct bytes im = idx_images(3, 5, 4);
    put_byte(&im, 0);
    struct dataset d;
    expect_refused(load_with_images(&im, 3, &d), &d, "images.idx", "trailing");
}

Test(data, idx_label_out_of_range_refused)
{
    write_idx_pair(8, 1, temp_path("im.gz"), temp_path("train-labels-idx1-ubyte.gz"));
    struct bytes lb = idx_labels(8);
    lb.data[8 + 5] = 12;
    write_gzip(temp_path("train-labels-idx1-ubyte.gz"), &lb);
    free(lb.data);
    struct dataset d;
    expect_refused(load_idx_files("im.gz", "train-labels-idx1-ubyte.gz", &d), &d,
                   "train-labels-idx1-ubyte.gz", "label 12 at index 5 is outside 0..9");
}

Test(data, idx_count_mismatch_refused)
{
    struct bytes im = idx_images(4, 5, 4), lb = idx_labels(3);
    write_plain(temp_path("images.idx"), &im);
    write_plain(temp_path("labels.idx"), &lb);
    free(im.data);
    free(lb.data);
    struct dataset d;
    expect_refused(load_idx_files("images.idx", "labels.idx", &d), &d, "labels.idx",
                   "holds 4 images but");
}

/* a gzip IDX image file of enough images that its middle is deflate data */
static struct bytes gzip_image_file(void)
{
    write_idx_pair(60, 1, temp_path("images.gz"), temp_path("labels.gz"));
    return read_plain(temp_path("images.gz"));
}

/* writes the edited gzip image file back and loads it with its labels */
static int load_edited_gzip(struct bytes *gz, struct dataset *d)
{
    write_plain(temp_path("images.gz"), gz);
    free(gz->data);
    return load_idx_files("images.gz", "labels.gz", d);
}

Test(data, idx_gzip_with_flipped_bytes_refused)
{
    struct bytes gz = gzip_image_file();
    for (size_t i = gz.len / 2; i < gz.len / 2 + 8; i++)
        gz.data[i] ^= 0x5a;
    struct dataset d;
    expect_refused(load_edited_gzip(&gz, &d), &d, "images.gz", "gzip");
}

Test(data, idx_gzip_cut_short_refused)
{
    struct bytes gz = gzip_image_file();
    gz.len = gz.len * 2 / 3;
    struct dataset d;
    expect_refused(load_edited_gzip(&gz, &d), &d, "images.gz", "gzip");
}

Test(data, idx_missing_file_refused)
{
    write_idx_pair(3, 0, temp_path("im"), temp_path("lb"));
    struct dataset d;
    expect_refused(load_idx_files("im", "absent-labels", &d), &d, "absent-labels",
                   "cannot open");
}

/* ---- CIFAR-10 and shards: loaders of one or more files ---- */

typedef int files_loader(const char *const *paths, int n_paths, struct dataset *out, char *err,
                         size_t err_len);

static int load_one(files_loader *load, const char *name, struct dataset *d)
{
    const char *paths[] = {temp_path(name)};
    return load(paths, 1, d, err, sizeof err);
}

/* file `name` with `edit` applied to its bytes, then loaded */
static int load_edited(files_loader *load, const char *name, void (*edit)(struct bytes *),
                       struct dataset *d)
{
    struct bytes b = read_plain(temp_path(name));
    edit(&b);
    write_plain(temp_path(name), &b);
    free(b.data);
    return load_one(load, name, d);
}

/* files a and b, written with images 0.. and then on, load as one data set */
static void expect_appended(files_loader *load, const char *a, const char *b, int count, int c,
                            int h, int w, int classes)
{
    const char *paths[] = {temp_path(a), temp_path(b)};
    struct dataset d;
    cr_assert_eq(load(paths, 2, &d, err, sizeof err), 0, "%s", err);
    expect_contents(&d, count, c, h, w, classes, 0);
    dataset_free(&d);
}

static void write_cifar(const char *path, int count, int first_image)
{
    struct bytes b = {0};
    for (int i = 0; i < count; i++) {
        put_byte(&b, test_label((size_t)(first_image + i), 10));
        for (size_t k = 0; k < 3072; k++)
            put_byte(&b, test_pixel((size_t)(first_image + i), k));
    }
    write_plain(path, &b);
    free(b.data);
}

Test(data, cifar_appends_files_exactly)
{
    write_cifar(temp_path("a.bin"), 3, 0);
    write_cifar(temp_path("b.bin"), 4, 3);
    expect_appended(cifar10_load, "a.bin", "b.bin", 7, 3, 32, 32, 10);
}

static void cut_last_byte(struct bytes *b)
{
    b->len -= 1;
}

static void cut_everything(struct bytes *b)
{
    b->len = 0;
}

static void set_third_label_to_ten(struct bytes *b)
{
    b->data[2 * 3073] = 10;
}

/* a CIFAR-10 file of `records` records, edited, is refused saying hint */
static void expect_edited_cifar_refused(int records, void (*edit)(struct bytes *),
                                        const char *hint)
{
    write_cifar(temp_path("x.bin"), records, 0);
    struct dataset d;
    expect_refused(load_edited(cifar10_load, "x.bin", edit, &d), &d, "x.bin", hint);
}

Test(data, cifar_size_not_multiple_of_record_refused)
{
    expect_edited_cifar_refused(2, cut_last_byte, "not a multiple of the 3073");
}

Test(data, cifar_empty_file_refused)
{
    expect_edited_cifar_refused(1, cut_everything, "empty file");
}

Test(data, cifar_label_out_of_range_refused)
{
    expect_edited_cifar_refused(3, set_third_label_to_ten, "label 10 at index 2 is outside 0..9");
}

Test(data, cifar_missing_file_refused)
{
    struct dataset d;
    expect_refused(load_one(cifar10_load, "data_batch_9.bin", &d), &d, "data_batch_9.bin",
                   "cannot open");
}

/* ---- shards ---- */


static void write_shard(const char *path, int count, int c, int h, int w, int classes,
                        int first_image)
{
    struct dataset d = test_dataset(count, c, h, w, classes, first_image);
    cr_assert_eq(shards_write(path, &d, err, sizeof err), 0, "%s", err);
    dataset_free(&d);
}

Test(data, shards_round_trip_appends_files)
{
    write_shard(temp_path("train-0.shard"), 5, 3, 6, 7, 1000, 0);
    write_shard(temp_path("train-1.shard"), 2, 3, 6, 7, 1000, 5);
    cr_assert_eq(access(temp_path("train-0.shard.tmp"), F_OK), -1, "temp file left behind");
    expect_appended(shards_load, "train-0.shard", "train-1.shard", 7, 3, 6, 7, 1000);
}

Test(data, shards_file_layout_is_documented_one)
{
    write_shard(temp_path("s.shard"), 2, 1, 2, 3, 10, 0);
    struct bytes b = read_plain(temp_path("s.shard"));
    cr_assert_eq(b.len, 36 + 2 * (4 + 6));
    cr_assert_eq(memcmp(b.data, "DSRSHRD1", 8), 0);
    const uint32_t header[] = {1, 2, 1, 2, 3, 10};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(get_le32(b.data + 8 + 4 * i), header[i], "header field %d", i);
    cr_assert_eq(get_le32(b.data + 32), test_label(0, 10));
    cr_assert_eq(b.data[36], test_pixel(0, 0));
    uint32_t crc = (uint32_t)crc32(0L, b.data, (uInt)(b.len - 4));
    cr_assert_eq(get_le32(b.data + b.len - 4), crc);
    free(b.data);
}

/* keeps the trailing checksum right after an edit */
static void reseal(struct bytes *b)
{
    uint32_t crc = (uint32_t)crc32(0L, b->data, (uInt)(b->len - 4));
    for (int i = 0; i < 4; i++)
        b->data[b->len - 4 + i] = (unsigned char)(crc >> (8 * i));
}

/* Criterion hands parameters to another process: plain data, no pointers */
enum shard_damage_kind { FLIP_PIXEL, CUT_RECORD, ADD_BYTE, BREAK_MAGIC, BUMP_VERSION, BAD_LABEL };
struct shard_damage {
    enum shard_damage_kind kind;
    char hint[48];
};

/* edits the bytes of a shard of 3 records of 2x4x4 (36 bytes each) */
static void damage_shard(enum shard_damage_kind kind, struct bytes *b)
{
    switch (kind) {
    case FLIP_PIXEL:
        b->data[32 + 4 + 5] ^= 1;
        break;
    case CUT_RECORD:
        b->len -= 20;
        break;
    case ADD_BYTE:
        put_byte(b, 0);
        break;
    case BREAK_MAGIC:
        b->data[7] = '2';
        break;
    case BUMP_VERSION:
        b->data[8] = 2;
        reseal(b);
        break;
    case BAD_LABEL:
        b->data[32 + 36] = 11;
        reseal(b);
        break;
    }
}

ParameterizedTestParameters(data, shards_damage_refused)
{
    static struct shard_damage damages[] = {
        {FLIP_PIXEL, "checksum mismatch"},
        {CUT_RECORD, "truncated"},
        {ADD_BYTE, "trailing bytes"},
        {BREAK_MAGIC, "bad magic"},
        {BUMP_VERSION, "version 2"},
        {BAD_LABEL, "label 11 at index 1 is outside 0..9"},
    };
    return cr_make_param_array(struct shard_damage, damages,
                               sizeof damages / sizeof damages[0]);
}

ParameterizedTest(struct shard_damage *damage, data, shards_damage_refused)
{
    write_shard(temp_path("bad.shard"), 3, 2, 4, 4, 10, 0);
    struct bytes b = read_plain(temp_path("bad.shard"));
    damage_shard(damage->kind, &b);
    write_plain(temp_path("bad.shard"), &b);
    free(b.data);
    struct dataset d;
    expect_refused(load_one(shards_load, "bad.shard", &d), &d, "bad.shard", damage->hint);
}

Test(data, shards_shape_mismatch_between_files_refused)
{
    write_shard(temp_path("a.shard"), 2, 3, 8, 8, 10, 0);
    write_shard(temp_path("b.shard"), 2, 3, 8, 9, 10, 0);
    const char *paths[] = {temp_path("a.shard"), temp_path("b.shard")};
    struct dataset d;
    expect_refused(shards_load(paths, 2, &d, err, sizeof err), &d, "b.shard", "shape mismatch");
}

Test(data, shards_write_refuses_label_out_of_range)
{
    struct dataset d = test_dataset(2, 1, 2, 2, 10, 0);
    d.labels[1] = 10;
    cr_assert_eq(shards_write(temp_path("w.shard"), &d, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "label 10 at index 1"), "%s", err);
    cr_assert_eq(access(temp_path("w.shard"), F_OK), -1);
    dataset_free(&d);
}

/* ---- named data sets ---- */

Test(data, kind_names_round_trip)
{
    const char *names[] = {"fashion-mnist", "mnist", "cifar10", "imagenet-shards"};
    for (int i = 0; i < 4; i++) {
        enum data_kind kind;
        cr_assert_eq(data_kind_parse(names[i], &kind), 0, "%s", names[i]);
        cr_assert_str_eq(data_kind_name(kind), names[i]);
    }
    enum data_kind kind;
    cr_assert_eq(data_kind_parse("cifar100", &kind), -1);
    cr_assert_str_eq(data_default_dir(DATA_FASHION_MNIST), FASHION_DIR);
    cr_assert_str_eq(data_default_dir(DATA_CIFAR10), "data/cifar-10-batches-bin");
    cr_assert_str_eq(data_default_dir(DATA_IMAGENET_SHARDS), "data/imagenet-shards");
}

Test(data, named_cifar10_missing_file_says_how_to_get_it)
{
    write_cifar(temp_path("data_batch_1.bin"), 1, 0);
    struct dataset train, test;
    int rc = dataset_load_named(DATA_CIFAR10, temp_dir, &train, &test, err, sizeof err);
    expect_refused(rc, &train, "data_batch_2.bin", "make data-cifar10");
    cr_assert_not_null(strstr(err, "--data-dir"), "%s", err);
}

Test(data, named_fashion_mnist_missing_names_debian_package)
{
    struct dataset train, test;
    int rc = dataset_load_named(DATA_FASHION_MNIST, temp_dir, &train, &test, err, sizeof err);
    expect_refused(rc, &train, "train-images-idx3-ubyte.gz", "dataset-fashion-mnist");
}

/* both splits of the named data set hold the test contents, from image 0 on */
static void expect_named_contents(enum data_kind kind, const char *dir, int train_count,
                                  int test_count, int c, int h, int w, int classes)
{
    struct dataset train, test;
    cr_assert_eq(dataset_load_named(kind, dir, &train, &test, err, sizeof err), 0, "%s", err);
    expect_contents(&train, train_count, c, h, w, classes, 0);
    expect_contents(&test, test_count, c, h, w, classes, 0);
    dataset_free(&train);
    dataset_free(&test);
}

Test(data, named_reads_environment_folder_and_plain_or_gzip_idx)
{
    write_idx_pair(6, 0, temp_path("train-images-idx3-ubyte"),
                   temp_path("train-labels-idx1-ubyte"));
    write_idx_pair(4, 1, temp_path("t10k-images-idx3-ubyte.gz"),
                   temp_path("t10k-labels-idx1-ubyte.gz"));
    cr_assert_eq(setenv("DSRBENCH_DATA", temp_dir, 1), 0);
    expect_named_contents(DATA_MNIST, NULL, 6, 4, 1, 5, 4, 10);
}

Test(data, named_imagenet_shards_in_sorted_order)
{
    write_shard(temp_path("train-001.shard"), 2, 3, 4, 5, 20, 3);
    write_shard(temp_path("train-000.shard"), 3, 3, 4, 5, 20, 0);
    write_shard(temp_path("val-000.shard"), 2, 3, 4, 5, 20, 0);
    expect_named_contents(DATA_IMAGENET_SHARDS, temp_dir, 5, 2, 3, 4, 5, 20);
}

Test(data, named_imagenet_shards_missing_split_refused)
{
    write_shard(temp_path("train-000.shard"), 2, 3, 4, 5, 20, 0);
    struct dataset train, test;
    int rc = dataset_load_named(DATA_IMAGENET_SHARDS, temp_dir, &train, &test, err, sizeof err);
    expect_refused(rc, &train, "val-*.shard", "no files match");
}

Test(data, named_real_fashion_mnist_loads)
{
    if (access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0)
        cr_skip_test("%s is absent (Debian package dataset-fashion-mnist)", FASHION_DIR);
    struct dataset train, test;
    cr_assert_eq(dataset_load_named(DATA_FASHION_MNIST, FASHION_DIR, &train, &test, err,
                                    sizeof err),
                 0, "%s", err);
    cr_assert_eq(train.count, 60000);
    cr_assert_eq(test.count, 10000);
    cr_assert(train.c == 1 && train.h == 28 && train.w == 28 && train.classes == 10);
    int seen[10] = {0};
    for (int i = 0; i < train.count; i++) {
        cr_assert(train.labels[i] >= 0 && train.labels[i] < 10);
        seen[train.labels[i]]++;
    }
    for (int k = 0; k < 10; k++)
        cr_assert_eq(seen[k], 6000, "class %d has %d training images", k, seen[k]);
    dataset_free(&train);
    dataset_free(&test);
}
