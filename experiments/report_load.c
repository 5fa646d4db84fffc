/* Reading an experiment's summary.csv into runs the report can group. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *report_must(void *p)
{
    if (!p) {
        fprintf(stderr, "dsrbench report: out of memory\n");
        exit(1);
    }
    return p;
}

char *report_copy(const char *s)
{
    const size_t n = strlen(s) + 1;
    return memcpy(report_must(malloc(n)), s, n);
}

/* a number, NaN for an empty cell; -1 when the text is no number */
static int number(const char *text, double *out)
{
    if (!*text) {
        *out = NAN;
        return 0;
    }
    char *end;
    *out = strtod(text, &end);
    return *end == '\0' ? 0 : -1;
}

static const char *const needed[] = {"grid",     "run_id",         "method",        "model",
                                     "data",     "sparsity",       "seed",          "epochs",
                                     "method_options", "status",   "final_test_acc", "best_test_acc",
                                     "active_params",  "wall_seconds"};
enum { NEEDED = sizeof needed / sizeof needed[0] };

int report_experiment_read(const char *dir, const char *name, struct report_experiment *e,
                           char *err, size_t err_len)
{
    *e = (struct report_experiment){.name = report_copy(name), .dir = report_copy(dir)};
    char path[4096];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (csv_table_read(path, &e->summary, err, err_len) != 0) {
        report_experiment_free(e);
        return -1;
    }
    int col[NEEDED];
    for (int i = 0; i < NEEDED; i++)
        if ((col[i] = csv_table_column(&e->summary, needed[i])) < 0) {
            snprintf(err, err_len, "%s: no column '%s' (is it a dsrbench summary.csv?)", path,
                     needed[i]);
            report_experiment_free(e);
            return -1;
        }
    e->count = e->summary.rows;
    e->runs = calloc((size_t)e->count + 1, sizeof *e->runs);
    for (int i = 0; i < e->count; i++) {
        const char *v[NEEDED];
        for (int c = 0; c < NEEDED; c++)
            v[c] = csv_table_cell(&e->summary, i, col[c]);
        struct report_run *r = &e->runs[i];
        *r = (struct report_run){.grid = v[0], .run_id = v[1], .method = v[2], .model = v[3],
                                 .data = v[4], .sparsity_text = v[5], .options = v[8],
                                 .status = v[9]};
        r->complete = strcmp(r->status, "complete") == 0;
        double seed, epochs;
        const char *bad = NULL;
        if (number(r->sparsity_text, &r->sparsity) != 0 || isnan(r->sparsity))
            bad = "sparsity";
        else if (number(v[6], &seed) != 0 || isnan(seed))
            bad = "seed";
        else if (number(v[7], &epochs) != 0 || isnan(epochs))
            bad = "epochs";
        else if (number(v[10], &r->final_acc) != 0 || (r->complete && isnan(r->final_acc)))
            bad = "final_test_acc";
        else if (number(v[11], &r->best_acc) != 0)
            bad = "best_test_acc";
        else if (number(v[12], &r->active_params) != 0)
            bad = "active_params";
        else if (number(v[13], &r->wall_seconds) != 0)
            bad = "wall_seconds";
        if (bad) {
            snprintf(err, err_len, "%s: line %d: %s '%s' is not a number", path, i + 2, bad,
                     csv_table_cell(&e->summary, i, csv_table_column(&e->summary, bad)));
            report_experiment_free(e);
            return -1;
        }
        r->seed = (long long)seed;
        r->epochs = (int)epochs;
    }
    return 0;
}

void report_experiment_free(struct report_experiment *e)
{
    free(e->name);
    free(e->dir);
    free(e->runs);
    csv_table_free(&e->summary);
    *e = (struct report_experiment){0};
}
