/* Results files: CSV tables through libcsv (RFC 4180 quoting) and key = value
 * manifests. Every file is written to "<path>.tmp" and renamed over <path>, so
 * a reader (or a killed run) never sees half a file. */
#ifndef DSRBENCH_RESULTS_IO_H
#define DSRBENCH_RESULTS_IO_H
#include <stddef.h>

struct csv_table {
    int columns;
    char **header; /* owned copies */
    int rows, capacity;
    char **cells; /* rows x columns, owned */
};

void csv_table_init(struct csv_table *t, const char *const *header, int columns);
/* appends one row of `columns` values, formatted by the caller */
void csv_table_add_row(struct csv_table *t, const char *const *values);
int csv_table_write(const struct csv_table *t, const char *path);
void csv_table_free(struct csv_table *t);
/* reads a table csv_table_write wrote (a header, then rows of as many
 * fields); 0, or -1 with "path: reason" in err (then *t is empty) */
int csv_table_read(struct csv_table *t, const char *path, char *err, size_t err_len);
/* the column's index by header name, or -1 */
int csv_table_column(const struct csv_table *t, const char *name);
static inline const char *csv_table_cell(const struct csv_table *t, int row, int column)
{
    return t->cells[(size_t)row * (size_t)t->columns + (size_t)column];
}
/* drops every row from `rows` on */
void csv_table_truncate(struct csv_table *t, int rows);

/* writes text atomically; returns 0 or -1 with a message on stderr */
int write_file_atomic(const char *path, const char *text, size_t len);

/* a growing text buffer for manifests */
struct text {
    char *data;
    size_t len, cap;
};
void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void text_free(struct text *t);

#endif
