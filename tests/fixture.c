#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char fixture_magic[8] = {'D', 'S', 'R', 'F', 'I', 'X', 0, 0};
enum { FIXTURE_VERSION = 1 };
/* far above any fixture; they keep a corrupt count from asking for terabytes */
static const size_t fixture_max_values = (size_t)1 << 28;
static const uint32_t fixture_max_tensors = 1 << 16;

struct reader {
    FILE *file;
    const char *path;
    char *err;
    size_t err_len;
};

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int read_bytes(struct reader *r, void *dst, size_t n, const char *what)
{
    if (fread(dst, 1, n, r->file) == n)
        return 0;
    snprintf(r->err, r->err_len, "%s: file ends inside %s", r->path, what);
    return -1;
}

static int read_u32(struct reader *r, uint32_t *value, const char *what)
{
    unsigned char b[4];
    if (read_bytes(r, b, sizeof b, what) != 0)
        return -1;
    *value = le32(b);
    return 0;
}

static int read_header(struct reader *r, uint32_t *count)
{
    char magic[sizeof fixture_magic];
    uint32_t version;
    if (read_bytes(r, magic, sizeof magic, "the header") != 0)
        return -1;
    if (memcmp(magic, fixture_magic, sizeof magic) != 0) {
        snprintf(r->err, r->err_len, "%s: not a dsrbench fixture (bad magic)", r->path);
        return -1;
    }
    if (read_u32(r, &version, "the header") != 0 || read_u32(r, count, "the header") != 0)
        return -1;
    if (version != FIXTURE_VERSION) {
        snprintf(r->err, r->err_len, "%s: fixture version %u, expected %d", r->path,
                 (unsigned)version, FIXTURE_VERSION);
        return -1;
    }
    return 0;
}

/* name, dtype and dims of tensor `index`; fills t->count */
static int read_tensor_header(struct reader *r, int index, struct fixture_tensor *t)
{
    uint32_t len, dtype, ndim;
    if (read_u32(r, &len, "a tensor name") != 0)
        return -1;
    if (len == 0 || len > FIXTURE_NAME_MAX) {
        snprintf(r->err, r->err_len, "%s: tensor %d: name length %u, expected 1..%d", r->path,
                 index, (unsigned)len, FIXTURE_NAME_MAX);
        return -1;
    }
    if (read_bytes(r, t->name, len, "a tensor name") != 0)
        return -1;
    t->name[len] = '\0';
    if (read_u32(r, &dtype, t->name) != 0 || read_u32(r, &ndim, t->name) != 0)
        return -1;
    if (dtype != FIXTURE_F32 && dtype != FIXTURE_I32) {
        snprintf(r->err, r->err_len, "%s: tensor '%s': dtype %u, expected 0 (float32) or 1 (int32)",
                 r->path, t->name, (unsigned)dtype);
        return -1;
    }
    if (ndim > FIXTURE_MAX_DIMS) {
        snprintf(r->err, r->err_len, "%s: tensor '%s': %u dimensions, expected 0..%d", r->path,
                 t->name, (unsigned)ndim, FIXTURE_MAX_DIMS);
        return -1;
    }
    t->dtype = (enum fixture_dtype)dtype;
    t->ndim = (int)ndim;
    t->count = 1;
    for (int d = 0; d < t->ndim; d++) {
        uint32_t dim;
        if (read_u32(r, &dim, t->name) != 0)
            return -1;
        if (dim == 0 || dim > fixture_max_values / t->count) {
            snprintf(r->err, r->err_len, "%s: tensor '%s': dimension %d is %u, expected 1..%zu",
                     r->path, t->name, d, (unsigned)dim, fixture_max_values / t->count);
            return -1;
        }
        t->dims[d] = (int)dim;
        t->count *= dim;
    }
    return 0;
}

/* reads the values and converts them from little-endian in place; both
 * dtypes are 4-byte words, so one conversion serves both */
static int read_tensor_data(struct reader *r, struct fixture_tensor *t)
{
    void *storage = malloc(t->count * 4);
    unsigned char *bytes = storage;
    if (!storage) {
        snprintf(r->err, r->err_len, "%s: tensor '%s': out of memory for %zu values", r->path,
                 t->name, t->count);
        return -1;
    }
    t->data.f32 = storage;
    if (read_bytes(r, bytes, t->count * 4, t->name) != 0)
        return -1;
    for (size_t i = 0; i < t->count; i++) {
        const uint32_t word = le32(bytes + 4 * i);
        memcpy(bytes + 4 * i, &word, 4);
    }
    return 0;
}

static int read_tensors(struct reader *r, struct fixture *f, int count)
{
    for (int i = 0; i < count; i++) {
        struct fixture_tensor *t = &f->tensors[i];
        if (read_tensor_header(r, i, t) != 0)
            return -1;
        if (fixture_find(f, t->name)) {
            snprintf(r->err, r->err_len, "%s: tensor '%s' appears twice", r->path, t->name);
            return -1;
        }
        /* counted only now, so fixture_find above saw the earlier tensors alone */
        f->count = i + 1;
        if (read_tensor_data(r, t) != 0)
            return -1;
    }
    if (fgetc(r->file) != EOF) {
        snprintf(r->err, r->err_len, "%s: unexpected bytes after the last of %d tensors",
                 r->path, count);
        return -1;
    }
    return 0;
}

static int read_fixture(struct reader *r, struct fixture *f)
{
    uint32_t count;
    if (read_header(r, &count) != 0)
        return -1;
    if (count > fixture_max_tensors) {
        snprintf(r->err, r->err_len, "%s: %u tensors, expected at most %u", r->path,
                 (unsigned)count, (unsigned)fixture_max_tensors);
        return -1;
    }
    f->tensors = calloc(count ? count : 1, sizeof *f->tensors);
    if (!f->tensors) {
        snprintf(r->err, r->err_len, "%s: out of memory for %u tensors", r->path, (unsigned)count);
        return -1;
    }
    return read_tensors(r, f, (int)count);
}

struct fixture *fixture_load(const char *path, char *err, size_t err_len)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(err, err_len,
                 "%s: cannot open (run from the repository root; `make fixtures` regenerates it)",
                 path);
        return NULL;
    }
    struct reader r = {.file = file, .path = path, .err = err, .err_len = err_len};
    struct fixture *f = calloc(1, sizeof *f);
    const int status = f ? read_fixture(&r, f) : -1;
    if (!f)
        snprintf(err, err_len, "%s: out of memory", path);
    fclose(file);
    if (status != 0) {
        fixture_free(f);
        return NULL;
    }
    return f;
}

void fixture_free(struct fixture *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->count; i++)
        free(f->tensors[i].data.f32);
    free(f->tensors);
    free(f);
}

const struct fixture_tensor *fixture_find(const struct fixture *f, const char *name)
{
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

int fixture_count_prefix(const struct fixture *f, const char *prefix)
{
    const size_t len = strlen(prefix);
    int n = 0;
    for (int i = 0; i < f->count; i++)
        n += strncmp(f->tensors[i].name, prefix, len) == 0;
    return n;
}
