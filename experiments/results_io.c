#include "results_io.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *checked_realloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (!q) {
        fprintf(stderr, "dsrbench: out of memory\n");
        exit(1);
    }
    return q;
}

static char *copy_string(const char *s, size_t len)
{
    char *copy = checked_realloc(NULL, len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

void csv_table_init(struct csv_table *t, const char *const *header, int columns)
{
    *t = (struct csv_table){.columns = columns};
    t->header = checked_realloc(NULL, sizeof *t->header * (size_t)(columns ? columns : 1));
    for (int c = 0; c < columns; c++)
        t->header[c] = copy_string(header[c], strlen(header[c]));
}

void csv_table_add_row(struct csv_table *t, const char *const *values)
{
    if (t->rows == t->capacity) {
        t->capacity = t->capacity ? 2 * t->capacity : 64;
        t->cells = checked_realloc(t->cells, sizeof *t->cells * (size_t)t->capacity *
                                                 (size_t)t->columns);
    }
    for (int c = 0; c < t->columns; c++)
        t->cells[(size_t)t->rows * t->columns + c] = copy_string(values[c], strlen(values[c]));
    t->rows++;
}

void csv_table_truncate(struct csv_table *t, int rows)
{
    for (size_t i = (size_t)rows * t->columns; i < (size_t)t->rows * t->columns; i++)
        free(t->cells[i]);
    if (rows < t->rows)
        t->rows = rows;
}

void csv_table_free(struct csv_table *t)
{
    csv_table_truncate(t, 0);
    for (int c = 0; t->header && c < t->columns; c++)
        free(t->header[c]);
    free(t->header);
    free(t->cells);
    *t = (struct csv_table){0};
}

int csv_table_column(const struct csv_table *t, const char *name)
{
    for (int c = 0; c < t->columns; c++)
        if (strcmp(t->header[c], name) == 0)
            return c;
    return -1;
}

/* libcsv calls back per field and per record; the first record is the header */
struct csv_reader {
    struct csv_table *t;
    char **record;
    int fields, capacity;
    int bad_record; /* 1-based record number with another field count, 0 if none */
    int records;
};

static void read_field(void *data, size_t len, void *ctx)
{
    struct csv_reader *r = ctx;
    if (r->fields == r->capacity) {
        r->capacity = r->capacity ? 2 * r->capacity : 32;
        r->record = checked_realloc(r->record, sizeof *r->record * (size_t)r->capacity);
    }
    r->record[r->fields++] = copy_string(data ? data : "", data ? len : 0);
}

static void read_record(int end, void *ctx)
{
    struct csv_reader *r = ctx;
    (void)end;
    r->records++;
    if (r->records == 1)
        csv_table_init(r->t, (const char *const *)r->record, r->fields);
    else if (r->fields == r->t->columns)
        csv_table_add_row(r->t, (const char *const *)r->record);
    else if (!r->bad_record)
        r->bad_record = r->records;
    for (int i = 0; i < r->fields; i++)
        free(r->record[i]);
    r->fields = 0;
}

int csv_table_read(struct csv_table *t, const char *path, char *err, size_t err_len)
{
    *t = (struct csv_table){0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    struct csv_parser p;
    struct csv_reader r = {.t = t};
    int failed = csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0;
    char buf[65536];
    size_t n;
    while (!failed && (n = fread(buf, 1, sizeof buf, f)) > 0)
        failed = csv_parse(&p, buf, n, read_field, read_record, &r) != n;
    failed = failed || ferror(f) || csv_fini(&p, read_field, read_record, &r) != 0;
    csv_free(&p);
    fclose(f);
    for (int i = 0; i < r.fields; i++)
        free(r.record[i]);
    free(r.record);
    if (failed || r.bad_record || r.records == 0) {
        if (r.bad_record)
            snprintf(err, err_len, "%s: record %d does not have the header's %d fields", path,
                     r.bad_record, t->columns);
        else
            snprintf(err, err_len, "%s: %s", path,
                     r.records == 0 ? "empty, expected a header line" : "not valid CSV");
        csv_table_free(t);
        return -1;
    }
    return 0;
}

static int write_row(FILE *f, const char *const *values, int columns)
{
    for (int c = 0; c < columns; c++) {
        if (c > 0 && fputc(',', f) == EOF)
            return -1;
        /* csv_fwrite always quotes; plain numbers and names stay bare */
        const char *v = values[c];
        if (strpbrk(v, ",\"\r\n") || (*v == ' ')) {
            if (csv_fwrite(f, v, strlen(v)) != 0)
                return -1;
        } else if (fputs(v, f) == EOF) {
            return -1;
        }
    }
    return fputc('\n', f) == EOF ? -1 : 0;
}

static FILE *open_temp(const char *path, char *tmp, size_t tmp_len)
{
    snprintf(tmp, tmp_len, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        fprintf(stderr, "dsrbench: cannot write %s: %s\n", tmp, strerror(errno));
    return f;
}

static int close_and_rename(FILE *f, const char *tmp, const char *path, int failed)
{
    if (!failed && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        failed = 1;
    if (fclose(f) != 0)
        failed = 1;
    if (failed || rename(tmp, path) != 0) {
        fprintf(stderr, "dsrbench: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int csv_table_write(const struct csv_table *t, const char *path)
{
    char tmp[4096];
    FILE *f = open_temp(path, tmp, sizeof tmp);
    if (!f)
        return -1;
    int failed = write_row(f, (const char *const *)t->header, t->columns) != 0;
    for (int r = 0; r < t->rows && !failed; r++)
        failed = write_row(f, (const char *const *)&t->cells[(size_t)r * t->columns],
                           t->columns) != 0;
    return close_and_rename(f, tmp, path, failed);
}

int write_file_atomic(const char *path, const char *text, size_t len)
{
    char tmp[4096];
    FILE *f = open_temp(path, tmp, sizeof tmp);
    if (!f)
        return -1;
    return close_and_rename(f, tmp, path, fwrite(text, 1, len, f) != len);
}

void text_printf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return;
    if (t->len + (size_t)need + 1 > t->cap) {
        t->cap = 2 * (t->len + (size_t)need + 1);
        t->data = checked_realloc(t->data, t->cap);
    }
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)need;
}

void text_free(struct text *t)
{
    free(t->data);
    *t = (struct text){0};
}
