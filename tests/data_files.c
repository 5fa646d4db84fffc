/* The data-set tests' files and checks (data_files.h). */
#include "data_files.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "test_images.h"

char data_temp_dir[64];
char data_err[512];

void data_make_temp_dir(void)
{
    strcpy(data_temp_dir, "/tmp/dsrbench-data-XXXXXX");
    cr_assert_not_null(mkdtemp(data_temp_dir));
    data_err[0] = '\0';
}

void data_remove_temp_dir(void)
{
    DIR *dir = opendir(data_temp_dir);
    if (!dir)
        return;
    char path[512];
    for (struct dirent *e; (e = readdir(dir));) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof path, "%s/%s", data_temp_dir, e->d_name);
            remove(path);
        }
    }
    closedir(dir);
    rmdir(data_temp_dir);
}

const char *temp_path(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", data_temp_dir, name);
    return p;
}

/* ---- byte images of files ---- */

void put_byte(struct bytes *b, unsigned v)
{
    b->data = realloc(b->data, b->len + 1);
    cr_assert_not_null(b->data);
    b->data[b->len++] = (unsigned char)v;
}

void put_be32(struct bytes *b, uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        put_byte(b, (v >> shift) & 0xff);
}

uint32_t get_le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void write_plain(const char *path, const struct bytes *b)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(b->data, 1, b->len, f), b->len);
    fclose(f);
}

void write_gzip(const char *path, const struct bytes *b)
{
    gzFile gz = gzopen(path, "wb9");
    cr_assert_not_null(gz);
    cr_assert_eq(gzwrite(gz, b->data, (unsigned)b->len), (int)b->len);
    cr_assert_eq(gzclose(gz), Z_OK);
}

struct bytes read_plain(const char *path)
{
    struct bytes b = {0};
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    for (int c; (c = fgetc(f)) != EOF;)
        put_byte(&b, (unsigned)c);
    fclose(f);
    return b;
}

struct bytes idx_images(uint32_t count, uint32_t rows, uint32_t cols)
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

struct bytes idx_labels(uint32_t count)
{
    struct bytes b = {0};
    put_be32(&b, 0x00000801);
    put_be32(&b, count);
    for (size_t i = 0; i < count; i++)
        put_byte(&b, test_label(i, 10));
    return b;
}

void expect_contents(const struct dataset *d, int count, int c, int h, int w, int classes,
                     int first_image)
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

void expect_refused(int rc, const struct dataset *d, const char *file, const char *hint)
{
    cr_assert_eq(rc, -1, "accepted a bad file");
    cr_assert_str_not_empty(data_err);
    cr_assert_not_null(strstr(data_err, file), "message \"%s\" does not name %s", data_err, file);
    cr_assert_not_null(strstr(data_err, hint), "message \"%s\" does not say \"%s\"", data_err,
                       hint);
    cr_assert_eq(d->count, 0);
    cr_assert_null(d->pixels);
    cr_assert_null(d->labels);
}

void write_idx_pair(int count, int gz, const char *images, const char *labels)
{
    struct bytes im = idx_images((uint32_t)count, 5, 4), lb = idx_labels((uint32_t)count);
    (gz ? write_gzip : write_plain)(images, &im);
    (gz ? write_gzip : write_plain)(labels, &lb);
    free(im.data);
    free(lb.data);
}

/* ---- loaders of one or more files (CIFAR-10, shards) ---- */

int load_one(files_loader *load, const char *name, struct dataset *d)
{
    const char *paths[] = {temp_path(name)};
    return load(paths, 1, d, data_err, sizeof data_err);
}

int load_edited(files_loader *load, const char *name, void (*edit)(struct bytes *),
                struct dataset *d)
{
    struct bytes b = read_plain(temp_path(name));
    edit(&b);
    write_plain(temp_path(name), &b);
    free(b.data);
    return load_one(load, name, d);
}

void expect_appended(files_loader *load, const char *a, const char *b, int count, int c, int h,
                     int w, int classes)
{
    const char *paths[] = {temp_path(a), temp_path(b)};
    struct dataset d;
    cr_assert_eq(load(paths, 2, &d, data_err, sizeof data_err), 0, "%s", data_err);
    expect_contents(&d, count, c, h, w, classes, 0);
    dataset_free(&d);
}

void write_cifar(const char *path, int count, int first_image)
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

void write_shard(const char *path, int count, int c, int h, int w, int classes, int first_image)
{
    struct dataset d = test_dataset(count, c, h, w, classes, first_image);
    cr_assert_eq(shards_write(path, &d, data_err, sizeof data_err), 0, "%s", data_err);
    dataset_free(&d);
}
