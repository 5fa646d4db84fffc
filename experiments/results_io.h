/* Results files: CSV tables through libcsv (RFC 4180 quoting) and key = value
 * manifests. Every file is written to "<path>.tmp" and renamed over <path>, so
 * a reader (or a killed run) never sees half a file. */
#ifndef DSRBENCH_RESULTS_IO_H
#define DSRBENCH_RESULTS_IO_H
#include <stddef.h>

struct csv_table {
    int columns;
    const char **header;
    int rows, capacity;
    char **cells; /* rows x columns, owned */
    char **read_header; /* the header csv_table_read owns, else NULL */
};

void csv_table_init(struct csv_table *t, const char **header, int columns);
/* appends one row of `columns` values, formatted by the caller */
void csv_table_add_row(struct csv_table *t, const char *const *values);
int csv_table_write(const struct csv_table *t, const char *path);
void csv_table_free(struct csv_table *t);

/* Reads a CSV file whose first row is the header. 0, or -1 with the file,
 * the line and the fault in err (unreadable, bad quoting, a row whose field
 * count differs from the header's). */
int csv_table_read(const char *path, struct csv_table *t, char *err, size_t err_len);
/* index of the named column, or -1 */
int csv_table_column(const struct csv_table *t, const char *name);
/* drops every row from `rows` on */
void csv_table_truncate(struct csv_table *t, int rows);
static inline const char *csv_table_cell(const struct csv_table *t, int row, int column)
{
    return t->cells[(size_t)row * (size_t)t->columns + (size_t)column];
}

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
