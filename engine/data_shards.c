/* dsrbench image shards: pre-resized images (ImageNet style) in files that
 * load without decoding.
 *
 * Shard format, version 1; every integer is little-endian:
 *   offset 0   8 bytes   magic "DSRSHRD1"
 *   offset 8   uint32    version, 1
 *   offset 12  uint32    count: records in this file, >= 1
 *   offset 16  uint32    channels, 1..4
 *   offset 20  uint32    height, >= 1
 *   offset 24  uint32    width, >= 1 (channels * height * width < 2^31)
 *   offset 28  uint32    classes, >= 1
 *   offset 32  count records, each: uint32 label (0..classes-1), then
 *              channels * height * width uint8 pixels in CHW order (one
 *              plane per channel, each plane row-major)
 *   last 4     uint32    CRC-32 (zlib crc32, the gzip/PNG polynomial) of
 *              every byte before it
 * So a shard is exactly 36 + count * (4 + channels * height * width) bytes.
 * A data set is one or more shards of equal channels, height, width and
 * classes; the "imagenet-shards" data set reads DIR/train-*.shard and
 * DIR/val-*.shard, each in sorted name order. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset.h"

#define SHARD_MAGIC "DSRSHRD1"
enum {
    SHARD_VERSION = 1,
    SHARD_MAGIC_BYTES = 8,
    SHARD_HEADER_BYTES = SHARD_MAGIC_BYTES + 6 * 4,
    SHARD_LABEL_BYTES = 4,
    SHARD_CRC_BYTES = 4,
};

struct shard_header {
    uint32_t version, count, channels, height, width, classes;
};

static uint32_t little_endian32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put_little_endian32(unsigned char *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t shard_bytes(const struct shard_header *h)
{
    uint64_t record = SHARD_LABEL_BYTES + (uint64_t)h->channels * h->height * h->width;
    return SHARD_HEADER_BYTES + h->count * record + SHARD_CRC_BYTES;
}

static void encode_header(const struct shard_header *h, unsigned char *b)
{
    const uint32_t fields[] = {h->version, h->count,  h->channels,
                               h->height,  h->width, h->classes};
    memcpy(b, SHARD_MAGIC, SHARD_MAGIC_BYTES);
    for (int i = 0; i < 6; i++)
        put_little_endian32(b + SHARD_MAGIC_BYTES + 4 * i, fields[i]);
}

static void decode_header(const unsigned char *b, struct shard_header *h)
{
    const unsigned char *f = b + SHARD_MAGIC_BYTES;
    *h = (struct shard_header){little_endian32(f),      little_endian32(f + 4),
                               little_endian32(f + 8),  little_endian32(f + 12),
                               little_endian32(f + 16), little_endian32(f + 20)};
}

/* Reads and checks path's header and its size against it; leaves f at the
 * first record and crc over the header. */
static int open_shard(const char *path, FILE **f, struct shard_header *h, uLong *crc, char *err,
                      size_t err_len)
{
    *f = fopen(path, "rb");
    if (!*f)
        return data_error(err, err_len, path, "cannot open: %s", strerror(errno));
    unsigned char header[SHARD_HEADER_BYTES];
    if (fread(header, 1, sizeof header, *f) != sizeof header)
        return data_error(err, err_len, path, "truncated: shorter than the %d-byte shard header",
                          SHARD_HEADER_BYTES);
    if (memcmp(header, SHARD_MAGIC, SHARD_MAGIC_BYTES) != 0)
        return data_error(err, err_len, path, "bad magic, expected \"%s\" (not a dsrbench shard)",
                          SHARD_MAGIC);
    decode_header(header, h);
    if (h->version != SHARD_VERSION)
        return data_error(err, err_len, path, "unsupported shard version %u, expected %d",
                          h->version, SHARD_VERSION);
    if (dataset_check_shape(h->count, h->channels, h->height, h->width, h->classes, path, err,
                            err_len))
        return -1;
    struct stat st;
    if (fstat(fileno(*f), &st) != 0)
        return data_error(err, err_len, path, "cannot stat: %s", strerror(errno));
    uint64_t expected = shard_bytes(h), found = (uint64_t)st.st_size;
    if (found != expected)
        return data_error(err, err_len, path,
                          "%s: %llu bytes, but %u records of %ux%ux%u need %llu",
                          found < expected ? "truncated" : "trailing bytes",
                          (unsigned long long)found, h->count, h->channels, h->height, h->width,
                          (unsigned long long)expected);
    *crc = crc32(crc32(0L, Z_NULL, 0), header, sizeof header);
    return 0;
}

static int close_shard(FILE *f, int rc)
{
    if (f)
        fclose(f);
    return rc;
}

/* the header of path, checked, and equal in shape to `first` when given */
static int probe_shard(const char *path, const struct shard_header *first,
                       struct shard_header *h, char *err, size_t err_len)
{
    FILE *f;
    uLong crc;
    int rc = open_shard(path, &f, h, &crc, err, err_len);
    if (rc == 0 && first &&
        (h->channels != first->channels || h->height != first->height ||
         h->width != first->width || h->classes != first->classes))
        rc = data_error(err, err_len, path,
                        "shape mismatch: %ux%ux%u images of %u classes, but the first shard "
                        "has %ux%ux%u of %u",
                        h->channels, h->height, h->width, h->classes, first->channels,
                        first->height, first->width, first->classes);
    return close_shard(f, rc);
}

/* labels first .. first+count of out; checked after the checksum, which
 * explains a bad label when the file is corrupt */
static int check_labels(const struct dataset *out, int first, uint32_t count, const char *path,
                        char *err, size_t err_len)
{
    for (uint32_t i = 0; i < count; i++)
        if (data_check_label((uint32_t)out->labels[first + (int)i], out->classes, path, (long)i,
                             err, err_len))
            return -1;
    return 0;
}

/* reads path's records into out from example *next on, advancing *next */
static int read_shard(const char *path, int *next, struct dataset *out, char *err,
                      size_t err_len)
{
    FILE *f;
    struct shard_header h;
    uLong crc;
    int rc = open_shard(path, &f, &h, &crc, err, err_len);
    if (rc == 0 && h.count > (uint32_t)(out->count - *next))
        rc = data_error(err, err_len, path, "changed while being read");
    size_t image_bytes = dataset_image_bytes(out);
    unsigned char word[4];
    for (uint32_t i = 0; rc == 0 && i < h.count; i++) {
        uint8_t *pixels = out->pixels + (size_t)(*next + (int)i) * image_bytes;
        if (fread(word, 1, 4, f) != 4 || fread(pixels, 1, image_bytes, f) != image_bytes)
            rc = data_error(err, err_len, path, "truncated in record %u", i);
        crc = crc32(crc32(crc, word, 4), pixels, (uInt)image_bytes);
        out->labels[*next + (int)i] = (int32_t)little_endian32(word);
    }
    if (rc == 0 && fread(word, 1, 4, f) != 4)
        rc = data_error(err, err_len, path, "truncated before the checksum");
    if (rc == 0 && little_endian32(word) != (uint32_t)crc)
        rc = data_error(err, err_len, path,
                        "checksum mismatch: stored CRC-32 0x%08x, contents give 0x%08x (corrupt)",
                        little_endian32(word), (uint32_t)crc);
    if (rc == 0)
        rc = check_labels(out, *next, h.count, path, err, err_len);
    if (rc == 0)
        *next += (int)h.count;
    return close_shard(f, rc);
}

/* checks every header and allocates out for all records */
static int allocate_for_shards(const char *const *paths, int n_paths, struct dataset *out,
                               char *err, size_t err_len)
{
    struct shard_header first, h;
    if (probe_shard(paths[0], NULL, &first, err, err_len))
        return -1;
    uint64_t total = first.count;
    for (int i = 1; i < n_paths; i++) {
        if (probe_shard(paths[i], &first, &h, err, err_len))
            return -1;
        total += h.count;
    }
    return dataset_alloc(out, total, first.channels, first.height, first.width,
                         first.classes, paths[0], err, err_len);
}

int shards_load(const char *const *paths, int n_paths, struct dataset *out, char *err,
                size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (n_paths <= 0)
        return data_error(err, err_len, "shards", "no files given");
    if (allocate_for_shards(paths, n_paths, out, err, err_len))
        return -1;
    int next = 0;
    for (int i = 0; i < n_paths; i++) {
        if (read_shard(paths[i], &next, out, err, err_len)) {
            dataset_free(out);
            return -1;
        }
    }
    return 0;
}

static int write_all(FILE *f, const void *buf, size_t len, uLong *crc)
{
    *crc = crc32(*crc, buf, (uInt)len);
    return fwrite(buf, 1, len, f) == len ? 0 : -1;
}

static int write_records(FILE *f, const struct dataset *d, const char *path, char *err,
                         size_t err_len)
{
    struct shard_header h = {SHARD_VERSION,   (uint32_t)d->count, (uint32_t)d->c,
                             (uint32_t)d->h,  (uint32_t)d->w,     (uint32_t)d->classes};
    unsigned char header[SHARD_HEADER_BYTES], word[4];
    encode_header(&h, header);
    uLong crc = crc32(0L, Z_NULL, 0);
    int rc = write_all(f, header, sizeof header, &crc);
    size_t image_bytes = dataset_image_bytes(d);
    for (int i = 0; rc == 0 && i < d->count; i++) {
        put_little_endian32(word, (uint32_t)d->labels[i]);
        rc = write_all(f, word, 4, &crc) || write_all(f, d->pixels + (size_t)i * image_bytes,
                                                       image_bytes, &crc);
    }
    put_little_endian32(word, (uint32_t)crc);
    if (rc == 0 && fwrite(word, 1, 4, f) == 4 && fflush(f) == 0 && fsync(fileno(f)) == 0)
        return 0;
    return data_error(err, err_len, path, "write failed: %s", strerror(errno));
}

static int check_writable(const char *path, const struct dataset *d, char *err, size_t err_len)
{
    if (d->count < 0 || d->c < 0 || d->h < 0 || d->w < 0 || d->classes < 0)
        return data_error(err, err_len, path, "negative size in the data set");
    if (dataset_check_shape((uint32_t)d->count, (uint32_t)d->c, (uint32_t)d->h, (uint32_t)d->w,
                            (uint32_t)d->classes, path, err, err_len))
        return -1;
    for (int i = 0; i < d->count; i++)
        if (data_check_label((uint32_t)d->labels[i], d->classes, path, i, err, err_len))
            return -1;
    return 0;
}

int shards_write(const char *path, const struct dataset *d, char *err, size_t err_len)
{
    if (check_writable(path, d, err, err_len))
        return -1;
    /* written beside the target and renamed over it, so a reader never
     * sees half a shard */
    char temp[4096];
    int n = snprintf(temp, sizeof temp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof temp)
        return data_error(err, err_len, path, "path too long");
    FILE *f = fopen(temp, "wb");
    if (!f)
        return data_error(err, err_len, temp, "cannot create: %s", strerror(errno));
    int rc = write_records(f, d, temp, err, err_len);
    if (fclose(f) != 0 && rc == 0)
        rc = data_error(err, err_len, temp, "write failed: %s", strerror(errno));
    if (rc == 0 && rename(temp, path) != 0)
        rc = data_error(err, err_len, path, "cannot rename %s over it: %s", temp,
                        strerror(errno));
    if (rc != 0)
        remove(temp);
    return rc;
}
