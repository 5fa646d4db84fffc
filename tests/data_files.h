/* Files for the data-set tests (test_data_idx.c, test_data_files.c,
 * test_data_named.c): a temporary folder per test (each suite's init and
 * fini), byte images of the formats, writers, and the checks of what a
 * loader read or refused. */
#ifndef DSRBENCH_TESTS_DATA_FILES_H
#define DSRBENCH_TESTS_DATA_FILES_H
#include <stddef.h>
#include <stdint.h>

#include "dataset.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* the test's folder, and the loaders' error message */
extern char data_temp_dir[64];
extern char data_err[512];

/* a fresh data_temp_dir (suite init) and its removal (suite fini) */
void data_make_temp_dir(void);
void data_remove_temp_dir(void);
/* a path inside the test's folder; ring of buffers so a test can hold several */
const char *temp_path(const char *name);

/* the bytes of a file */
struct bytes {
    unsigned char *data;
    size_t len;
};

void put_byte(struct bytes *b, unsigned v);
void put_be32(struct bytes *b, uint32_t v);
uint32_t get_le32(const unsigned char *b);
void write_plain(const char *path, const struct bytes *b);
void write_gzip(const char *path, const struct bytes *b);
struct bytes read_plain(const char *path);
/* IDX files of count test images (test_images.h) of rows x cols, and their labels */
struct bytes idx_images(uint32_t count, uint32_t rows, uint32_t cols);
struct bytes idx_labels(uint32_t count);
/* writes an IDX pair of `count` 5x4 images (gzip when gz) */
void write_idx_pair(int count, int gz, const char *images, const char *labels);
/* a CIFAR-10 binary file of count records, images first_image on */
void write_cifar(const char *path, int count, int first_image);
/* a shard file of count c x h x w images, first_image on */
void write_shard(const char *path, int count, int c, int h, int w, int classes, int first_image);

/* the data set the test files describe; pixels c x h x w per image */
void expect_contents(const struct dataset *d, int count, int c, int h, int w, int classes,
                     int first_image);
/* the load returned -1 with a message naming file and saying hint, and left d empty */
void expect_refused(int rc, const struct dataset *d, const char *file, const char *hint);

typedef int files_loader(const char *const *paths, int n_paths, struct dataset *out, char *err,
                         size_t err_len);
/* file `name` of the test's folder loaded alone */
int load_one(files_loader *load, const char *name, struct dataset *d);
/* file `name` with `edit` applied to its bytes, then loaded */
int load_edited(files_loader *load, const char *name, void (*edit)(struct bytes *),
                struct dataset *d);
/* files a and b, written with images 0.. and then on, load as one data set */
void expect_appended(files_loader *load, const char *a, const char *b, int count, int c, int h,
                     int w, int classes);

#endif
