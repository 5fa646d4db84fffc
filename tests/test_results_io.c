/* CSV tables: what csv_table_write writes, csv_table_read reads back, quoting
 * included; malformed files are refused with the file and line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results_io.h"

static void temp_path(char *path, size_t len, const char *name)
{
    snprintf(path, len, "/tmp/dsrbench-csv-%d-%s", (int)getpid(), name);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(csv_read, reads_back_what_was_written_with_quoting)
{
    char path[256];
    temp_path(path, sizeof path, "round.csv");
    const char *header[] = {"name", "value", "note"};
    struct csv_table out;
    csv_table_init(&out, header, 3);
    const char *rows[][3] = {{"a", "1.5", ""},
                             {"b,c", "2", "say \"hi\""},
                             {" lead", "-3e-5", "two\nlines"}};
    for (int i = 0; i < 3; i++)
        csv_table_add_row(&out, rows[i]);
    cr_assert_eq(csv_table_write(&out, path), 0);
    csv_table_free(&out);

    struct csv_table in;
    char err[512];
    cr_assert_eq(csv_table_read(path, &in, err, sizeof err), 0, "%s", err);
    cr_assert_eq(in.columns, 3);
    cr_assert_eq(in.rows, 3);
    cr_assert_eq(csv_table_column(&in, "note"), 2);
    cr_assert_eq(csv_table_column(&in, "missing"), -1);
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 3; c++)
            cr_assert_str_eq(csv_table_cell(&in, i, c), rows[i][c]);
    csv_table_free(&in);
    unlink(path);
}

Test(csv_read, refuses_a_row_with_the_wrong_field_count)
{
    char path[256], err[512];
    temp_path(path, sizeof path, "short.csv");
    write_text(path, "a,b,c\n1,2,3\n4,5\n6,7,8\n");
    struct csv_table in;
    cr_assert_neq(csv_table_read(path, &in, err, sizeof err), 0);
    cr_assert(strstr(err, path) && strstr(err, "line 3") && strstr(err, "2 fields"), "%s", err);
    unlink(path);
}

Test(csv_read, refuses_missing_empty_and_badly_quoted_files)
{
    char path[256], err[512];
    struct csv_table in;
    temp_path(path, sizeof path, "none.csv");
    unlink(path);
    cr_assert_neq(csv_table_read(path, &in, err, sizeof err), 0);
    cr_assert(strstr(err, path), "%s", err);
    write_text(path, "");
    cr_assert_neq(csv_table_read(path, &in, err, sizeof err), 0);
    cr_assert(strstr(err, "empty"), "%s", err);
    write_text(path, "a,b\n\"open,2\n");
    cr_assert_neq(csv_table_read(path, &in, err, sizeof err), 0);
    cr_assert(strstr(err, path), "%s", err);
    unlink(path);
}
