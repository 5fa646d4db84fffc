/* Checkpoint files: writing (streamed through deflate into a temp file that is
 * fsynced and renamed) and reading (whole file, verified, then parsed). The
 * layout is in checkpoint.h; checkpoint_apply.c copies a read checkpoint into
 * a net. */
#include "checkpoint.h"
#include "checkpoint_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "param_storage.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoints store host floats and integers as little-endian bytes"
#endif

/* payloads larger than this are refused as damaged before any allocation */
#define MAX_PAYLOAD_BYTES (1ull << 40)

int checkpoint_error(char *err, size_t err_len, const char *path, const char *fmt, ...)
{
    int n = snprintf(err, err_len, "%s: ", path);
    if (n < 0 || (size_t)n >= err_len)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- writing ---- */

struct writer {
    FILE *f;
    z_stream z;
    uLong crc;
    uint64_t raw, packed;
    int failed; /* the errno of the first failure */
    unsigned char out[1 << 16];
};

/* runs deflate until it wants more input (or, finishing, until the stream ends) */
static void deflate_out(struct writer *w, int flush)
{
    for (;;) {
        w->z.next_out = w->out;
        w->z.avail_out = sizeof w->out;
        const int rc = deflate(&w->z, flush);
        const size_t have = sizeof w->out - w->z.avail_out;
        if (rc == Z_STREAM_ERROR || (have && fwrite(w->out, 1, have, w->f) != have)) {
            w->failed = rc == Z_STREAM_ERROR || !errno ? EIO : errno;
            return;
        }
        w->packed += have;
        if (flush == Z_FINISH ? rc == Z_STREAM_END : w->z.avail_out != 0)
            return;
    }
}

static void put(struct writer *w, const void *data, size_t n)
{
    const unsigned char *p = data;
    w->raw += n;
    while (n > 0 && !w->failed) {
        const uInt chunk = n > (1u << 30) ? 1u << 30 : (uInt)n;
        w->crc = crc32(w->crc, p, chunk);
        w->z.next_in = (Bytef *)p;
        w->z.avail_in = chunk;
        deflate_out(w, Z_NO_FLUSH);
        p += chunk;
        n -= chunk;
    }
}

static void put_u32(struct writer *w, uint32_t v) { put(w, &v, sizeof v); }
static void put_u64(struct writer *w, uint64_t v) { put(w, &v, sizeof v); }
static void put_f64(struct writer *w, double v) { put(w, &v, sizeof v); }

static void put_str(struct writer *w, const char *s)
{
    const size_t len = strlen(s ? s : "") + 1;
    put_u32(w, (uint32_t)len);
    put(w, s ? s : "", len);
}

static void put_rng(struct writer *w, const struct rng *r)
{
    for (int i = 0; i < 4; i++)
        put_u64(w, r->s[i]);
}

/* a batch-norm statistic: its name LAYER.WHAT, its count, its floats */
static void put_buffer(struct writer *w, const char *layer, const char *what, const float *data,
                       size_t count)
{
    char name[96];
    snprintf(name, sizeof name, "%s.%s", layer, what);
    put_str(w, name);
    put_u64(w, count);
    put(w, data, count * sizeof(float));
}

/* a parameter's values or momentum in the file's dense layout, whatever its
 * storage (param_storage.h): a COMPACT one is scattered into a scratch */
static void put_dense(struct writer *w, const struct param *p, const float *stored,
                      void (*dense)(const struct param *, float *))
{
    if (!p->compact) {
        put(w, stored, p->count * sizeof(float));
        return;
    }
    float *scratch = malloc(sizeof(float) * p->count);
    if (!scratch) {
        w->failed = w->failed ? w->failed : ENOMEM;
        return;
    }
    dense(p, scratch);
    put(w, scratch, p->count * sizeof(float));
    free(scratch);
}

static void put_payload(struct writer *w, const struct net *net, const struct checkpoint_meta *m)
{
    put_str(w, m->model);
    put_str(w, m->method);
    put_f64(w, m->sparsity);
    put_str(w, m->config);
    put_u32(w, (uint32_t)m->next_epoch);
    put_u64(w, (uint64_t)m->iteration);
    put_rng(w, &m->order_stream);
    put_rng(w, &m->augment_stream);
    put_rng(w, &m->method_stream);
    put_u64(w, m->method_state_size);
    put(w, m->method_state, m->method_state_size);
    put_u32(w, (uint32_t)net->n_params);
    for (int i = 0; i < net->n_params; i++) {
        const struct param *p = net->params[i];
        put_str(w, p->name);
        put_u32(w, (uint32_t)p->ndim);
        for (int d = 0; d < p->ndim; d++)
            put_u32(w, (uint32_t)p->shape[d]);
        put_u64(w, p->count);
        put_u32(w, p->mask != NULL);
        put_dense(w, p, p->value, param_dense_values);
        put_dense(w, p, p->momentum, param_dense_momentum);
        if (p->mask)
            put(w, p->mask, p->count);
    }
    int n_buffers = 0;
    for (int i = 0; i < net->n_layers; i++)
        n_buffers += 2 * (net->layers[i].kind == LAYER_BATCHNORM);
    put_u32(w, (uint32_t)n_buffers);
    for (int i = 0; i < net->n_layers; i++) {
        const struct layer *l = &net->layers[i];
        if (l->kind != LAYER_BATCHNORM)
            continue;
        const size_t c = (size_t)l->weight->shape[0];
        put_buffer(w, l->name, "running_mean", l->running_mean, c);
        put_buffer(w, l->name, "running_var", l->running_var, c);
    }
}

static void encode_header(unsigned char *h, uint64_t raw, uint64_t packed, uint32_t crc)
{
    const uint32_t version = CHECKPOINT_VERSION;
    memcpy(h, CHECKPOINT_MAGIC, 8);
    memcpy(h + 8, &version, 4);
    memcpy(h + 12, &raw, 8);
    memcpy(h + 20, &packed, 8);
    memcpy(h + 28, &crc, 4);
    const uint32_t header_crc = (uint32_t)crc32(0, h, 32);
    memcpy(h + 32, &header_crc, 4);
}

/* the folder's entry for a renamed file is durable only once the folder is synced */
static void sync_folder(const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    const int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int checkpoint_save(const char *path, const struct net *net, const struct checkpoint_meta *meta,
                    char *err, size_t err_len)
{
    char tmp[1100];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return checkpoint_error(err, err_len, path, "path too long");
    struct writer *w = calloc(1, sizeof *w);
    if (!w)
        return checkpoint_error(err, err_len, path, "out of memory");
    w->f = fopen(tmp, "wb");
    if (!w->f) {
        const int e = errno;
        free(w);
        return checkpoint_error(err, err_len, path, "cannot write %s: %s", tmp, strerror(e));
    }
    /* level 1: masks and zeroed inactive weights compress well at any level,
     * dense float noise barely at all, so more effort buys little */
    if (deflateInit(&w->z, Z_BEST_SPEED) != Z_OK) {
        fclose(w->f);
        unlink(tmp);
        free(w);
        return checkpoint_error(err, err_len, path, "cannot start zlib compression");
    }
    unsigned char header[CHECKPOINT_HEADER_BYTES] = {0};
    errno = 0;
    if (fwrite(header, 1, sizeof header, w->f) != sizeof header)
        w->failed = errno ? errno : EIO;
    w->crc = crc32(0, NULL, 0);
    put_payload(w, net, meta);
    if (!w->failed)
        deflate_out(w, Z_FINISH);
    deflateEnd(&w->z);
    encode_header(header, w->raw, w->packed, (uint32_t)w->crc);
    int failed = w->failed;
    if (!failed && (fseek(w->f, 0, SEEK_SET) != 0 ||
                    fwrite(header, 1, sizeof header, w->f) != sizeof header ||
                    fflush(w->f) != 0 || fsync(fileno(w->f)) != 0))
        failed = errno ? errno : EIO;
    if (fclose(w->f) != 0 && !failed)
        failed = errno ? errno : EIO;
    free(w);
    if (!failed && rename(tmp, path) != 0)
        failed = errno ? errno : EIO;
    if (failed) {
        unlink(tmp);
        return checkpoint_error(err, err_len, path, "cannot write the checkpoint (via %s): %s", tmp,
                                strerror(failed));
    }
    sync_folder(path);
    return 0;
}

/* ---- reading ---- */

struct cursor {
    const unsigned char *p;
    size_t left;
    int bad;
};

static const unsigned char *take(struct cursor *c, size_t n)
{
    if (c->bad || n > c->left) {
        c->bad = 1;
        return NULL;
    }
    const unsigned char *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}

/* n bytes into v; v keeps what it held when the payload has ended */
static void get(struct cursor *c, void *v, size_t n)
{
    const unsigned char *p = take(c, n);
    if (p)
        memcpy(v, p, n);
}

static uint32_t get_u32(struct cursor *c) { uint32_t v = 0; get(c, &v, sizeof v); return v; }
static uint64_t get_u64(struct cursor *c) { uint64_t v = 0; get(c, &v, sizeof v); return v; }
static double get_f64(struct cursor *c) { double v = 0; get(c, &v, sizeof v); return v; }

static const char *get_str(struct cursor *c)
{
    const uint32_t len = get_u32(c);
    const unsigned char *p = take(c, len);
    if (!p || len == 0 || p[len - 1] != '\0' || memchr(p, '\0', len) != p + len - 1) {
        c->bad = 1;
        return "";
    }
    return (const char *)p;
}

static void get_rng(struct cursor *c, struct rng *r)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = get_u64(c);
}

/* count floats (or bytes when width is 1), refusing counts that overflow */
static const unsigned char *get_array(struct cursor *c, uint64_t count, size_t width)
{
    if (count > c->left / width) {
        c->bad = 1;
        return NULL;
    }
    return take(c, (size_t)count * width);
}

static int parse_params(struct cursor *cur, struct checkpoint *c)
{
    const uint32_t n = get_u32(cur);
    if (cur->bad || n > cur->left)
        return -1;
    c->params = calloc(n ? n : 1, sizeof *c->params);
    if (!c->params)
        return -1;
    c->n_params = (int)n;
    for (uint32_t i = 0; i < n && !cur->bad; i++) {
        struct checkpoint_param *p = &c->params[i];
        p->name = get_str(cur);
        p->ndim = (int)get_u32(cur);
        if (p->ndim < 1 || p->ndim > 4)
            return -1;
        uint64_t product = 1;
        for (int d = 0; d < p->ndim; d++) {
            p->shape[d] = (int)get_u32(cur);
            product *= (uint64_t)(uint32_t)p->shape[d];
        }
        const uint64_t count = get_u64(cur);
        if (count != product)
            return -1;
        p->count = (size_t)count;
        const uint32_t has_mask = get_u32(cur);
        p->value = get_array(cur, count, sizeof(float));
        p->momentum = get_array(cur, count, sizeof(float));
        p->mask = has_mask ? get_array(cur, count, 1) : NULL;
        if (has_mask > 1)
            return -1;
    }
    return cur->bad ? -1 : 0;
}

static int parse_buffers(struct cursor *cur, struct checkpoint *c)
{
    const uint32_t n = get_u32(cur);
    if (cur->bad || n > cur->left)
        return -1;
    c->buffers = calloc(n ? n : 1, sizeof *c->buffers);
    if (!c->buffers)
        return -1;
    c->n_buffers = (int)n;
    for (uint32_t i = 0; i < n && !cur->bad; i++) {
        struct checkpoint_buffer *b = &c->buffers[i];
        b->name = get_str(cur);
        const uint64_t count = get_u64(cur);
        b->count = (size_t)count;
        b->data = get_array(cur, count, sizeof(float));
    }
    return cur->bad ? -1 : 0;
}

static int parse_payload(struct checkpoint *c)
{
    struct cursor cur = {.p = c->payload, .left = c->payload_size};
    struct checkpoint_meta *m = &c->meta;
    m->model = get_str(&cur);
    m->method = get_str(&cur);
    m->sparsity = get_f64(&cur);
    m->config = get_str(&cur);
    m->next_epoch = (int)get_u32(&cur);
    m->iteration = (long)get_u64(&cur);
    get_rng(&cur, &m->order_stream);
    get_rng(&cur, &m->augment_stream);
    get_rng(&cur, &m->method_stream);
    const uint64_t state_size = get_u64(&cur);
    m->method_state = get_array(&cur, state_size, 1);
    m->method_state_size = (size_t)state_size;
    if (cur.bad || parse_params(&cur, c) != 0 || parse_buffers(&cur, c) != 0)
        return -1;
    return cur.left == 0 ? 0 : -1;
}

/* the whole file into memory; -1 with errno set */
static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    unsigned char *data = NULL;
    if (fstat(fileno(f), &st) == 0 && st.st_size >= 0) {
        *size = (size_t)st.st_size;
        data = malloc(*size ? *size : 1);
        if (data && fread(data, 1, *size, f) != *size) {
            free(data);
            data = NULL;
            errno = EIO;
        }
    }
    fclose(f);
    return data;
}

static int inflate_payload(const unsigned char *in, size_t in_len, unsigned char *out,
                           size_t out_len, const char **why)
{
    z_stream z = {0};
    if (inflateInit(&z) != Z_OK) {
        *why = "cannot start zlib";
        return -1;
    }
    int rc = Z_OK;
    size_t in_done = 0, out_done = 0;
    while (rc == Z_OK) {
        const size_t in_chunk = in_len - in_done > (1u << 30) ? 1u << 30 : in_len - in_done;
        const size_t out_chunk = out_len - out_done > (1u << 30) ? 1u << 30 : out_len - out_done;
        z.next_in = (Bytef *)in + in_done;
        z.avail_in = (uInt)in_chunk;
        z.next_out = out + out_done;
        z.avail_out = (uInt)out_chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        in_done += in_chunk - z.avail_in;
        out_done += out_chunk - z.avail_out;
        if (rc == Z_OK && in_chunk == z.avail_in && out_chunk == z.avail_out)
            rc = Z_BUF_ERROR; /* no progress: input ended or output is full */
    }
    *why = z.msg ? z.msg : "the compressed data ends early";
    inflateEnd(&z);
    if (rc != Z_STREAM_END)
        return -1;
    if (in_done != in_len || out_done != out_len) {
        *why = "the compressed data does not have the announced size";
        return -1;
    }
    return 0;
}

/* header checks; on success *raw is the payload size */
static int check_header(const unsigned char *file, size_t size, const char *path, uint64_t *raw,
                        uint32_t *crc, char *err, size_t err_len)
{
    if (size < 8 || memcmp(file, CHECKPOINT_MAGIC, 8) != 0)
        return checkpoint_error(
            err, err_len, path,
            "not a dsrbench checkpoint (it does not start with " CHECKPOINT_MAGIC ")");
    if (size < CHECKPOINT_HEADER_BYTES)
        return checkpoint_error(err, err_len, path,
                                "truncated: %zu bytes, shorter than the %d-byte header", size,
                                CHECKPOINT_HEADER_BYTES);
    uint32_t version, header_crc;
    uint64_t packed;
    memcpy(&version, file + 8, 4);
    memcpy(raw, file + 12, 8);
    memcpy(&packed, file + 20, 8);
    memcpy(crc, file + 28, 4);
    memcpy(&header_crc, file + 32, 4);
    if (header_crc != (uint32_t)crc32(0, file, 32))
        return checkpoint_error(err, err_len, path, "damaged: the header checksum does not match");
    if (version != CHECKPOINT_VERSION)
        return checkpoint_error(err, err_len, path,
                                "checkpoint format version %u; this dsrbench reads version %u",
                                version, CHECKPOINT_VERSION);
    if (packed != size - CHECKPOINT_HEADER_BYTES)
        return checkpoint_error(
            err, err_len, path,
            "%s: the header announces %llu bytes of compressed data, the file holds %zu",
            packed > size - CHECKPOINT_HEADER_BYTES ? "truncated" : "damaged",
            (unsigned long long)packed, size - CHECKPOINT_HEADER_BYTES);
    if (*raw > MAX_PAYLOAD_BYTES)
        return checkpoint_error(err, err_len, path, "damaged: a payload of %llu bytes",
                                (unsigned long long)*raw);
    return 0;
}

int checkpoint_read(const char *path, struct checkpoint *c, char *err, size_t err_len)
{
    memset(c, 0, sizeof *c);
    size_t size = 0;
    unsigned char *file = slurp(path, &size);
    if (!file)
        return checkpoint_error(err, err_len, path, "cannot read: %s", strerror(errno));
    uint64_t raw = 0;
    uint32_t crc = 0;
    if (check_header(file, size, path, &raw, &crc, err, err_len) != 0) {
        free(file);
        return -1;
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    c->payload_size = (size_t)raw;
    c->payload = malloc(c->payload_size ? c->payload_size : 1);
    if (!c->payload) {
        free(file);
        return checkpoint_error(err, err_len, path, "out of memory for a %zu-byte payload",
                                c->payload_size);
    }
    const char *why = "";
    const int inflated = inflate_payload(file + CHECKPOINT_HEADER_BYTES,
                                         size - CHECKPOINT_HEADER_BYTES, c->payload,
                                         c->payload_size, &why);
    free(file);
    if (inflated != 0) {
        checkpoint_free(c);
        return checkpoint_error(err, err_len, path, "damaged or truncated: zlib: %s", why);
    }
    uLong sum = crc32(0, NULL, 0);
    for (size_t done = 0; done < c->payload_size;) {
        const size_t chunk = c->payload_size - done > (1u << 30) ? 1u << 30
                                                                 : c->payload_size - done;
        sum = crc32(sum, c->payload + done, (uInt)chunk);
        done += chunk;
    }
    if ((uint32_t)sum != crc) {
        checkpoint_free(c);
        return checkpoint_error(err, err_len, path, "damaged: the payload checksum does not match");
    }
    if (parse_payload(c) != 0) {
        checkpoint_free(c);
        return checkpoint_error(err, err_len, path, "damaged: the payload does not parse");
    }
    return 0;
}

void checkpoint_free(struct checkpoint *c)
{
    free(c->params);
    free(c->buffers);
    free(c->payload);
    memset(c, 0, sizeof *c);
}
