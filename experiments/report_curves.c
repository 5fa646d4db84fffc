/* Per-epoch CSVs from the runs' epochs.csv: curves.csv (test accuracy of
 * every configuration, mean and std over seeds) and dynamics.csv (DSR's
 * threshold H and the weights it pruned and grew in each epoch). */
#include "report.h"
#include "report_csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum quantity { TEST_ACC, TRAIN_LOSS, H, PRUNED, GROWN, REALLOCATIONS, QUANTITIES };
static const char *const quantity_columns[QUANTITIES] = {"test_acc", "train_loss", "H",
                                                         "pruned",   "grown",      "reallocations"};

/* values[q][epoch][run], NaN where a run has no such row or column */
struct epoch_values {
    int epochs, runs;
    double *v;
};

static double *at(struct epoch_values *ev, int q, int epoch, int run)
{
    return &ev->v[((size_t)q * ev->epochs + epoch) * ev->runs + run];
}

static void read_group(const struct report_experiment *e, const struct report_group *g,
                       struct epoch_values *ev, struct text *notes)
{
    *ev = (struct epoch_values){.epochs = g->epochs, .runs = g->n};
    const size_t cells = (size_t)QUANTITIES * g->epochs * g->n;
    ev->v = malloc((cells + 1) * sizeof *ev->v);
    for (size_t i = 0; i < cells; i++)
        ev->v[i] = NAN;
    for (int r = 0; r < g->n; r++) {
        char path[4096], err[4200];
        snprintf(path, sizeof path, "%s/%s/epochs.csv", e->dir, e->runs[g->members[r]].run_id);
        struct csv_table t;
        if (csv_table_read(path, &t, err, sizeof err) != 0) {
            text_printf(notes, "- %s (its per-epoch curve is left out)\n", err);
            continue;
        }
        const int ce = csv_table_column(&t, "epoch");
        int col[QUANTITIES];
        for (int q = 0; q < QUANTITIES; q++)
            col[q] = csv_table_column(&t, quantity_columns[q]);
        for (int i = 0; ce >= 0 && i < t.rows; i++) {
            const int epoch = atoi(csv_table_cell(&t, i, ce));
            if (epoch < 0 || epoch >= ev->epochs)
                continue;
            for (int q = 0; q < QUANTITIES; q++)
                if (col[q] >= 0 && *csv_table_cell(&t, i, col[q]))
                    *at(ev, q, epoch, r) = atof(csv_table_cell(&t, i, col[q]));
        }
        csv_table_free(&t);
    }
}

/* summary of quantity q at epoch over the runs that have it */
static struct summary over_runs(struct epoch_values *ev, int q, int epoch, double *scratch)
{
    int n = 0;
    for (int r = 0; r < ev->runs; r++)
        if (!isnan(*at(ev, q, epoch, r)))
            scratch[n++] = *at(ev, q, epoch, r);
    return summarize(scratch, n);
}

static const char *curve_columns[] = {"model", "data",  "method",        "label",
                                      "sparsity", "epochs", "method_options", "epoch",
                                      "n",     "test_acc_mean", "test_acc_std", "train_loss_mean"};
static const char *dynamics_columns[] = {
    "model",  "data",  "series",       "sparsity",   "method_options", "epoch",
    "n",      "H_mean", "H_std",       "pruned_mean", "pruned_std",    "grown_mean",
    "reallocations_mean"};

int report_write_curves(const struct report_experiment *e, const struct report_groups *gs,
                        struct text *notes)
{
    struct csv_table curves, dynamics;
    csv_table_init(&curves, curve_columns, sizeof curve_columns / sizeof *curve_columns);
    csv_table_init(&dynamics, dynamics_columns, sizeof dynamics_columns / sizeof *dynamics_columns);
    for (int k = 0; k < gs->count; k++) {
        const struct report_group *g = &gs->g[k];
        if (g->n == 0)
            continue;
        struct epoch_values ev;
        read_group(e, g, &ev, notes);
        double *scratch = malloc(((size_t)g->n + 1) * sizeof *scratch);
        const int dsr = strcmp(g->method, "dsr") == 0;
        char series[200];
        report_series(g, series, sizeof series);
        for (int epoch = 0; epoch < g->epochs; epoch++) {
            const struct summary acc = over_runs(&ev, TEST_ACC, epoch, scratch);
            if (acc.n == 0)
                continue;
            const struct summary loss = over_runs(&ev, TRAIN_LOSS, epoch, scratch);
            char epochs[16], ep[16], n[16], mean[32], std[32], lmean[32];
            snprintf(epochs, sizeof epochs, "%d", g->epochs);
            snprintf(ep, sizeof ep, "%d", epoch);
            snprintf(n, sizeof n, "%d", acc.n);
            report_cell(mean, sizeof mean, "%.4f", acc.mean);
            report_cell(std, sizeof std, "%.4f", acc.std);
            report_cell(lmean, sizeof lmean, "%.6f", loss.mean);
            const char *row[] = {g->model, g->data, g->method, g->label, g->sparsity_text,
                                 epochs,   g->options, ep,     n,        mean,
                                 std,      lmean};
            csv_table_add_row(&curves, row);
            const struct summary h = over_runs(&ev, H, epoch, scratch);
            if (!dsr || h.n == 0)
                continue;
            const struct summary pruned = over_runs(&ev, PRUNED, epoch, scratch);
            const struct summary grown = over_runs(&ev, GROWN, epoch, scratch);
            const struct summary reallocations = over_runs(&ev, REALLOCATIONS, epoch, scratch);
            char hn[16], hmean[32], hstd[32], pmean[32], pstd[32], gmean[32], rmean[32];
            snprintf(hn, sizeof hn, "%d", h.n);
            report_cell(hmean, sizeof hmean, "%.6g", h.mean);
            report_cell(hstd, sizeof hstd, "%.6g", h.std);
            report_cell(pmean, sizeof pmean, "%.2f", pruned.mean);
            report_cell(pstd, sizeof pstd, "%.2f", pruned.std);
            report_cell(gmean, sizeof gmean, "%.2f", grown.mean);
            report_cell(rmean, sizeof rmean, "%.2f", reallocations.mean);
            const char *drow[] = {g->model, g->data, series, g->sparsity_text, g->options, ep,
                                  hn,       hmean,   hstd,   pmean,            pstd,       gmean,
                                  rmean};
            csv_table_add_row(&dynamics, drow);
        }
        free(scratch);
        free(ev.v);
    }
    const int rc = report_table_write(&curves, e->dir, "curves.csv");
    return rc | report_table_write(&dynamics, e->dir, "dynamics.csv");
}
