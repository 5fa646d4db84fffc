#include "summary.h"

#include <stdio.h>
#include <string.h>

#include "results_io.h"
#include "run_record.h"

static const char *columns[] = {
    "experiment",   "profile",      "grid",          "run_id",        "method",
    "model",        "data",         "sparsity",      "seed",          "epochs",
    "method_options", "source",     "status",        "final_test_acc", "best_test_acc",
    "active_params", "total_params", "wall_seconds",
};
enum { COLUMNS = sizeof columns / sizeof columns[0] };

int summary_write(const struct plan *p, const char *const *status, const char *path)
{
    struct csv_table t;
    csv_table_init(&t, columns, COLUMNS);
    for (int i = 0; i < p->count; i++) {
        const struct plan_run *r = &p->runs[i];
        struct run_record rec = {0};
        const int complete = strcmp(status[i], "complete") == 0;
        if (complete)
            run_record_read(r->dir, &rec);
        char seed[32], epochs[32];
        snprintf(seed, sizeof seed, "%llu", r->seed);
        snprintf(epochs, sizeof epochs, "%d", r->epochs);
        const char *row[COLUMNS] = {
            p->experiment, p->profile, r->grid, r->id, r->entry, r->model, r->data,
            r->sparsity[0] ? r->sparsity : "0", seed, epochs, r->options,
            r->source >= 0 ? p->runs[r->source].id : "", status[i],
            rec.final_test_acc, rec.best_test_acc, rec.active_params, rec.total_params,
            rec.wall_seconds,
        };
        csv_table_add_row(&t, row);
        run_record_free(&rec);
    }
    const int rc = csv_table_write(&t, path);
    csv_table_free(&t);
    return rc;
}
