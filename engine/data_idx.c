/* IDX files (MNIST, Fashion-MNIST): a big-endian uint32 magic 0x000008NN
 * (unsigned bytes, NN dimensions), NN big-endian uint32 sizes, then the bytes.
 * zlib's gzread passes plain files through, so one reader serves gzip and
 * plain files. A gzip stream is only known to be intact once it has been
 * read to its end (the CRC and length sit in its trailer), so every file is
 * read to the end, and a corrupt stream is reported in preference to the
 * symptom it caused (a wrong magic, a wrong size). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "dataset.h"

enum {
    IDX_IMAGES_MAGIC = 0x00000803,
    IDX_LABELS_MAGIC = 0x00000801,
    IDX_CLASSES = 10,
    /* gzread counts in unsigned int; stay well inside it */
    READ_CHUNK = 1 << 30,
    LABEL_CHUNK = 4096,
};

struct idx_file {
    const char *path;
    gzFile gz;
    uint32_t dims[3];
    char *err;
    size_t err_len;
};

/* reports a gzip or read error of f, if any */
static int stream_failed(struct idx_file *f)
{
    int code;
    const char *message = gzerror(f->gz, &code);
    if (code == Z_OK)
        return 0;
    if (code == Z_ERRNO)
        return data_error(f->err, f->err_len, f->path, "read error: %s", strerror(errno));
    /* zlib's message starts with the path, which data_error already gives */
    size_t path_len = strlen(f->path);
    if (strncmp(message, f->path, path_len) == 0 && strncmp(message + path_len, ": ", 2) == 0)
        message += path_len + 2;
    return data_error(f->err, f->err_len, f->path, "corrupt or cut-short gzip stream (zlib: %s)",
                      message);
}

/* reads the rest of f; a corrupt stream found there is the real error */
static int rest_of_stream_failed(struct idx_file *f)
{
    char scratch[LABEL_CHUNK];
    int got;
    do
        got = gzread(f->gz, scratch, sizeof scratch);
    while (got > 0);
    return stream_failed(f);
}

/* a format error, unless the gzip stream behind it is corrupt */
__attribute__((format(printf, 2, 3))) static int format_error(struct idx_file *f,
                                                              const char *fmt, ...)
{
    if (rest_of_stream_failed(f))
        return -1;
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return data_error(f->err, f->err_len, f->path, "%s", message);
}

static int read_exactly(struct idx_file *f, void *buf, size_t len, const char *what)
{
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done < READ_CHUNK ? len - done : READ_CHUNK;
        int got = gzread(f->gz, (char *)buf + done, (unsigned)chunk);
        if (got <= 0)
            break;
        done += (size_t)got;
    }
    if (done == len)
        return 0;
    if (stream_failed(f))
        return -1;
    return data_error(f->err, f->err_len, f->path, "truncated: %s ends after %zu of %zu bytes",
                      what, done, len);
}

static int expect_end(struct idx_file *f)
{
    unsigned char extra;
    int got = gzread(f->gz, &extra, 1);
    if (got == 1)
        return format_error(f, "trailing data after the bytes the header announces");
    return stream_failed(f);
}

static uint32_t big_endian32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* opens path and reads its header: magic, then magic & 0xff sizes */
static int open_idx(struct idx_file *f, const char *path, uint32_t magic, const char *kind,
                    char *err, size_t err_len)
{
    *f = (struct idx_file){.path = path, .err = err, .err_len = err_len};
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (!f->gz)
        return data_error(err, err_len, path, "cannot open: %s",
                          errno ? strerror(errno) : "out of memory");
    int n_dims = (int)(magic & 0xff);
    unsigned char header[4 * 4];
    if (read_exactly(f, header, 4, "header"))
        return -1;
    uint32_t found = big_endian32(header);
    if (found != magic)
        return format_error(f, "bad magic 0x%08x, expected 0x%08x (IDX %s file)", found, magic,
                            kind);
    if (read_exactly(f, header + 4, 4 * (size_t)n_dims, "header"))
        return -1;
    for (int i = 0; i < n_dims; i++)
        f->dims[i] = big_endian32(header + 4 * (i + 1));
    return 0;
}

static void close_idx(struct idx_file *f)
{
    if (f->gz)
        gzclose(f->gz);
}

static int read_labels(struct idx_file *f, struct dataset *out)
{
    unsigned char chunk[LABEL_CHUNK];
    for (int first = 0; first < out->count; first += LABEL_CHUNK) {
        int n = out->count - first < LABEL_CHUNK ? out->count - first : LABEL_CHUNK;
        if (read_exactly(f, chunk, (size_t)n, "label data"))
            return -1;
        for (int i = 0; i < n; i++) {
            if (data_check_label(chunk[i], out->classes, f->path, (long)first + i, f->err,
                                 f->err_len)) {
                rest_of_stream_failed(f); /* replaces the message when the stream is corrupt */
                return -1;
            }
            out->labels[first + i] = chunk[i];
        }
    }
    return expect_end(f);
}

static int read_pair(struct idx_file *images, struct idx_file *labels, struct dataset *out,
                     char *err, size_t err_len)
{
    const uint32_t *dims = images->dims;
    if (dims[0] != labels->dims[0]) {
        if (rest_of_stream_failed(images) || rest_of_stream_failed(labels))
            return -1;
        return data_error(err, err_len, images->path, "holds %u images but %s holds %u labels",
                          dims[0], labels->path, labels->dims[0]);
    }
    if (dataset_alloc(out, dims[0], 1, dims[1], dims[2], IDX_CLASSES, images->path, err, err_len))
        return -1;
    if (read_exactly(images, out->pixels, (size_t)out->count * dataset_image_bytes(out),
                     "pixel data") ||
        expect_end(images))
        return -1;
    return read_labels(labels, out);
}

int idx_load(const char *images_path, const char *labels_path, struct dataset *out, char *err,
             size_t err_len)
{
    memset(out, 0, sizeof *out);
    struct idx_file images = {0}, labels = {0};
    int rc = open_idx(&images, images_path, IDX_IMAGES_MAGIC, "images", err, err_len);
    if (rc == 0)
        rc = open_idx(&labels, labels_path, IDX_LABELS_MAGIC, "labels", err, err_len);
    if (rc == 0)
        rc = read_pair(&images, &labels, out, err, err_len);
    close_idx(&images);
    close_idx(&labels);
    if (rc != 0)
        dataset_free(out);
    return rc;
}
