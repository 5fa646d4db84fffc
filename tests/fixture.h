/* Loader of the PyTorch reference fixtures (the .bin files of tests/fixtures, written by
 * tests/reference/make_fixtures.py, which lists the tensors each file holds).
 *
 * File format, every integer a little-endian uint32:
 *   magic    8 bytes "DSRFIX\0\0"
 *   version  1
 *   count    number of tensors
 *   count times:
 *     name_len, name (name_len bytes of UTF-8, no terminator, unique in the file)
 *     dtype    0 = float32, 1 = int32
 *     ndim     0..4
 *     dims     ndim values, each >= 1; a tensor of ndim 0 holds one value
 *     data     product(dims) little-endian 4-byte values, row-major (PyTorch's
 *              contiguous order)
 * and nothing after the last tensor. */
#ifndef DSRBENCH_TESTS_FIXTURE_H
#define DSRBENCH_TESTS_FIXTURE_H
#include <stddef.h>
#include <stdint.h>

#define FIXTURE_NAME_MAX 255
#define FIXTURE_MAX_DIMS 4

enum fixture_dtype { FIXTURE_F32 = 0, FIXTURE_I32 = 1 };

struct fixture_tensor {
    char name[FIXTURE_NAME_MAX + 1];
    enum fixture_dtype dtype;
    int ndim, dims[FIXTURE_MAX_DIMS];
    size_t count;
    union {
        float *f32;
        int32_t *i32;
    } data;
};

struct fixture {
    struct fixture_tensor *tensors;
    int count;
};

/* NULL on failure, with the reason (naming the file and the tensor) in err */
struct fixture *fixture_load(const char *path, char *err, size_t err_len);
void fixture_free(struct fixture *f);
/* the tensor of that name, or NULL */
const struct fixture_tensor *fixture_find(const struct fixture *f, const char *name);
/* how many tensor names start with prefix */
int fixture_count_prefix(const struct fixture *f, const char *prefix);

#endif
