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

void csv_table_init(struct csv_table *t, const char **header, int columns)
{
    *t = (struct csv_table){.columns = columns, .header = header};
}

void csv_table_add_row(struct csv_table *t, const char *const *values)
{
    if (t->rows == t->capacity) {
        t->capacity = t->capacity ? 2 * t->capacity : 64;
        t->cells = checked_realloc(t->cells, sizeof *t->cells * (size_t)t->capacity *
                                                 (size_t)t->columns);
    }
    for (int c = 0; c < t->columns; c++) {
        const size_t len = strlen(values[c]);
        char *copy = checked_realloc(NULL, len + 1);
        memcpy(copy, values[c], len + 1);
        t->cells[(size_t)t->rows * t->columns + c] = copy;
    }
    t->rows++;
}

void csv_table_free(struct csv_table *t)
{
    for (size_t i = 0; i < (size_t)t->rows * t->columns; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->rows = t->capacity = 0;
    if (t->read_header) {
        for (int c = 0; c < t->columns; c++)
            free(t->read_header[c]);
        free(t->read_header);
        t->read_header = NULL;
        t->header = NULL;
    }
}

/* libcsv hands fields and row ends to callbacks; this collects one row at a time */
struct csv_reader {
    struct csv_table *table;
    char **row;
    int fields, row_capacity;
    long line;
    int bad_row; /* first line whose field count is wrong, 0 while none */
    int bad_fields;
};

static void on_field(void *data, size_t len, void *ctx)
{
    struct csv_reader *r = ctx;
    if (r->fields == r->row_capacity) {
        r->row_capacity = r->row_capacity ? 2 * r->row_capacity : 32;
        r->row = checked_realloc(r->row, sizeof *r->row * (size_t)r->row_capacity);
    }
    char *copy = checked_realloc(NULL, len + 1);
    memcpy(copy, data ? data : "", len);
    copy[len] = '\0';
    r->row[r->fields++] = copy;
}

static void on_row_end(int terminator, void *ctx)
{
    struct csv_reader *r = ctx;
    (void)terminator;
    r->line++;
    struct csv_table *t = r->table;
    if (!t->read_header) {
        t->read_header = r->row;
        t->header = (const char **)r->row;
        t->columns = r->fields;
        r->row = NULL;
        r->fields = r->row_capacity = 0;
        return;
    }
    if (r->fields == t->columns && !r->bad_row) {
        csv_table_add_row(t, (const char *const *)r->row);
    } else if (!r->bad_row) {
        r->bad_row = (int)r->line;
        r->bad_fields = r->fields;
    }
    for (int i = 0; i < r->fields; i++)
        free(r->row[i]);
    r->fields = 0;
}

int csv_table_read(const char *path, struct csv_table *t, char *err, size_t err_len)
{
    *t = (struct csv_table){0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct csv_parser parser;
    struct csv_reader r = {.table = t};
    int rc = csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) == 0 ? 0 : -1;
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
        if (csv_parse(&parser, buf, n, on_field, on_row_end, &r) != n)
            rc = -1;
    if (rc == 0 && (ferror(f) || csv_fini(&parser, on_field, on_row_end, &r) != 0))
        rc = -1;
    if (rc != 0)
        snprintf(err, err_len, "%s: line %ld: %s", path, r.line + 1,
                 ferror(f) ? strerror(errno) : csv_strerror(csv_error(&parser)));
    else if (!t->read_header)
        snprintf(err, err_len, "%s: empty file, expected a header row", path), rc = -1;
    else if (r.bad_row)
        snprintf(err, err_len, "%s: line %d has %d fields, the header has %d", path, r.bad_row,
                 r.bad_fields, t->columns),
            rc = -1;
    csv_free(&parser);
    fclose(f);
    for (int i = 0; i < r.fields; i++)
        free(r.row[i]);
    free(r.row);
    if (rc != 0)
        csv_table_free(t);
    return rc;
}

void csv_table_truncate(struct csv_table *t, int rows)
{
    for (size_t i = (size_t)rows * t->columns; i < (size_t)t->rows * t->columns; i++)
        free(t->cells[i]);
    if (rows < t->rows)
        t->rows = rows;
}

int csv_table_column(const struct csv_table *t, const char *name)
{
    for (int c = 0; c < t->columns; c++)
        if (strcmp(t->header[c], name) == 0)
            return c;
    return -1;
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
    int failed = write_row(f, t->header, t->columns) != 0;
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
