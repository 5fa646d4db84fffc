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
