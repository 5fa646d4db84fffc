#include "run_record.h"

#include "manifest.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void set(char *dst, size_t len, const char *value)
{
    snprintf(dst, len, "%s", value);
}

static void take_manifest(void *ctx, const char *section, const char *key, const char *value)
{
    struct run_record *r = ctx;
    if (strcmp(section, "run") == 0) {
        if (strcmp(key, "status") == 0)
            set(r->status, sizeof r->status, value);
        else if (strcmp(key, "command") == 0 && !r->command)
            r->command = strdup(value);
    } else if (strcmp(section, "result") == 0) {
        if (strcmp(key, "final_test_acc") == 0)
            set(r->final_test_acc, sizeof r->final_test_acc, value);
        else if (strcmp(key, "best_test_acc") == 0)
            set(r->best_test_acc, sizeof r->best_test_acc, value);
        else if (strcmp(key, "wall_seconds") == 0)
            set(r->wall_seconds, sizeof r->wall_seconds, value);
    }
}

/* the last row's active_params and total_params, and the row count */
struct epochs_reader {
    struct run_record *r;
    int row, column, active_column, total_column;
};

static void epochs_field(void *s, size_t len, void *ctx)
{
    struct epochs_reader *e = ctx;
    const char *text = s;
    if (e->row == 0) {
        if (len == strlen("active_params") && strncmp(text, "active_params", len) == 0)
            e->active_column = e->column;
        if (len == strlen("total_params") && strncmp(text, "total_params", len) == 0)
            e->total_column = e->column;
    } else if (e->column == e->active_column) {
        snprintf(e->r->active_params, sizeof e->r->active_params, "%.*s", (int)len, text);
    } else if (e->column == e->total_column) {
        snprintf(e->r->total_params, sizeof e->r->total_params, "%.*s", (int)len, text);
    }
    e->column++;
}

static void epochs_row(int c, void *ctx)
{
    (void)c;
    struct epochs_reader *e = ctx;
    e->row++;
    e->column = 0;
}

static void read_epochs(const char *path, struct run_record *r)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    struct csv_parser p;
    struct epochs_reader e = {.r = r, .active_column = -1, .total_column = -1};
    if (csv_init(&p, 0) == 0) {
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            if (csv_parse(&p, buf, n, epochs_field, epochs_row, &e) != n)
                break;
        csv_fini(&p, epochs_field, epochs_row, &e);
        csv_free(&p);
    }
    fclose(f);
    r->epoch_rows = e.row > 0 ? e.row - 1 : 0;
}

void run_record_read(const char *dir, struct run_record *r)
{
    *r = (struct run_record){.state = RUN_ABSENT};
    struct stat st;
    if (stat(dir, &st) != 0)
        return;
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.ini", dir);
    manifest_read(path, take_manifest, r);
    snprintf(path, sizeof path, "%s/epochs.csv", dir);
    read_epochs(path, r);
    r->state = strcmp(r->status, "complete") == 0 ? RUN_COMPLETE : RUN_UNFINISHED;
}

void run_record_free(struct run_record *r)
{
    free(r->command);
    r->command = NULL;
}

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* the words that say what the run is: without the program, --threads,
 * --kernels (how, not what, is computed) and --out, and with only the folder
 * name of --from */
static int essential(char *const *word, int n, const char **out)
{
    int m = 0;
    for (int i = 1; i < n; i++) {
        if ((strcmp(word[i], "--threads") == 0 || strcmp(word[i], "--kernels") == 0 ||
             strcmp(word[i], "--out") == 0) &&
            i + 1 < n) {
            i++;
            continue;
        }
        out[m++] = word[i];
        if (strcmp(word[i], "--from") == 0 && i + 1 < n)
            out[m++] = basename_of(word[++i]);
    }
    return m;
}

enum { MAX_WORDS = 512 };

int run_record_same_command(const char *recorded, char *const *argv)
{
    char *copy = strdup(recorded), *save = NULL;
    char *words[MAX_WORDS];
    int n_recorded = 0, n_argv = 0;
    for (char *w = copy ? strtok_r(copy, " ", &save) : NULL; w && n_recorded < MAX_WORDS;
         w = strtok_r(NULL, " ", &save))
        words[n_recorded++] = w;
    while (n_argv < MAX_WORDS && argv[n_argv])
        n_argv++;
    const char *a[MAX_WORDS], *b[MAX_WORDS];
    const int na = essential(words, n_recorded, a), nb = essential(argv, n_argv, b);
    int same = na == nb;
    for (int i = 0; i < na && same; i++)
        same = strcmp(a[i], b[i]) == 0;
    free(copy);
    return same;
}
