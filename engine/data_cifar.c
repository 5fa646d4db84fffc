/* CIFAR-10 binary version: files of 3073-byte records, one label byte (0..9)
 * then 3072 pixel bytes, 32x32 per channel plane in R, G, B order, each plane
 * row-major; that is already the CHW order the data set keeps. The official
 * files hold 10000 records each; any whole number of records is accepted. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset.h"

enum {
    CIFAR_CHANNELS = 3,
    CIFAR_SIDE = 32,
    CIFAR_CLASSES = 10,
    CIFAR_PIXELS = CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE,
    CIFAR_RECORD = 1 + CIFAR_PIXELS,
};

/* the number of records in path, from its size */
static int count_records(const char *path, uint64_t *records, char *err, size_t err_len)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return data_error(err, err_len, path, "cannot open: %s", strerror(errno));
    if (st.st_size == 0)
        return data_error(err, err_len, path, "empty file");
    if (st.st_size % CIFAR_RECORD != 0)
        return data_error(err, err_len, path,
                          "size %lld bytes is not a multiple of the %d-byte CIFAR-10 record "
                          "(1 label + %d pixels): truncated or not a CIFAR-10 binary file",
                          (long long)st.st_size, CIFAR_RECORD, CIFAR_PIXELS);
    *records = (uint64_t)st.st_size / CIFAR_RECORD;
    return 0;
}

/* reads the records of path into out from example *next on, advancing *next;
 * never past out->count, in case the file grew since it was measured */
static int read_records(const char *path, int *next, struct dataset *out, char *err,
                        size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return data_error(err, err_len, path, "cannot open: %s", strerror(errno));
    unsigned char record[CIFAR_RECORD];
    int rc = 0;
    for (long i = 0; rc == 0 && *next < out->count; i++) {
        const size_t got = fread(record, 1, sizeof record, f);
        if (got == 0)
            break;
        if (got != sizeof record)
            rc = data_error(err, err_len, path, "truncated in record %ld", i);
        else
            rc = data_check_label(record[0], CIFAR_CLASSES, path, i, err, err_len);
        if (rc == 0) {
            out->labels[*next] = record[0];
            memcpy(out->pixels + (size_t)*next * CIFAR_PIXELS, record + 1, CIFAR_PIXELS);
            ++*next;
        }
    }
    fclose(f);
    return rc;
}

int cifar10_load(const char *const *paths, int n_paths, struct dataset *out, char *err,
                 size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (n_paths <= 0)
        return data_error(err, err_len, "cifar10", "no files given");
    uint64_t total = 0;
    for (int i = 0; i < n_paths; i++) {
        uint64_t records = 0;
        if (count_records(paths[i], &records, err, err_len))
            return -1;
        total += records;
    }
    if (dataset_alloc(out, total, CIFAR_CHANNELS, CIFAR_SIDE, CIFAR_SIDE, CIFAR_CLASSES,
                      paths[0], err, err_len))
        return -1;
    int next = 0;
    int rc = 0;
    for (int i = 0; i < n_paths && rc == 0; i++)
        rc = read_records(paths[i], &next, out, err, err_len);
    if (rc == 0 && next != out->count)
        rc = data_error(err, err_len, paths[0], "files changed while being read");
    if (rc != 0)
        dataset_free(out);
    return rc;
}
