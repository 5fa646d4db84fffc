/* RQ4's CSVs from the DSR runs' layers.csv: final sparsity per layer and per
 * residual block, and per-layer sparsity after every epoch, each as mean and
 * std over seeds at every global sparsity. */
#include "report.h"
#include "report_csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *final_columns[] = {"model", "data",  "series", "sparsity",
                                      "method_options", "layer", "depth", "total",
                                      "n",     "layer_sparsity_mean", "layer_sparsity_std"};
static const char *block_columns[] = {"model", "data",  "series", "sparsity",
                                      "method_options", "block", "depth", "total",
                                      "n",     "block_sparsity_mean", "block_sparsity_std"};
static const char *time_columns[] = {"model", "data",  "series", "sparsity",
                                     "method_options", "epoch", "layer", "depth",
                                     "total", "n",     "layer_sparsity_mean", "layer_sparsity_std"};

/* one row: the identifying columns of g, then the unit's name, depth, size and
 * the summary of its sparsity over runs */
static void add_row(struct csv_table *t, const struct report_group *g, const char *epoch,
                    const char *name, int depth, double total, double *values, int count)
{
    int n = 0;
    for (int i = 0; i < count; i++)
        if (!isnan(values[i]))
            values[n++] = values[i];
    const struct summary s = summarize(values, n);
    char series[200], d[16], tot[32], runs[16], mean[32], std[32];
    report_series(g, series, sizeof series);
    snprintf(d, sizeof d, "%d", depth);
    snprintf(tot, sizeof tot, "%.0f", total);
    snprintf(runs, sizeof runs, "%d", n);
    report_cell(mean, sizeof mean, "%.6f", s.mean);
    report_cell(std, sizeof std, "%.6f", n > 0 ? s.std : NAN);
    const char *row[12] = {g->model, g->data, series, g->sparsity_text, g->options};
    int c = 5;
    if (epoch)
        row[c++] = epoch;
    row[c++] = name;
    row[c++] = d;
    row[c++] = tot;
    row[c++] = runs;
    row[c++] = mean;
    row[c++] = std;
    csv_table_add_row(t, row);
}

int report_write_layer_csvs(const struct report_experiment *e, const struct report_groups *gs,
                            struct text *notes)
{
    struct csv_table final, blocks, time;
    csv_table_init(&final, final_columns, sizeof final_columns / sizeof *final_columns);
    csv_table_init(&blocks, block_columns, sizeof block_columns / sizeof *block_columns);
    csv_table_init(&time, time_columns, sizeof time_columns / sizeof *time_columns);
    for (int k = 0; k < gs->count; k++) {
        const struct report_group *g = &gs->g[k];
        if (strcmp(g->method, "dsr") != 0 || g->n == 0)
            continue;
        struct report_layers l;
        char err[4200];
        if (report_layers_read(e, g, &l, err, sizeof err) != 0) {
            text_printf(notes, "- %s (left out of the per-layer figures)\n", err);
            continue;
        }
        double *v = malloc(((size_t)l.runs + 1) * sizeof *v);
        const int last = l.epochs - 1;
        for (int i = 0; i < l.layers; i++) {
            for (int r = 0; r < l.runs; r++)
                v[r] = report_layer_sparsity(&l, r, last, i);
            add_row(&final, g, NULL, l.names[i], i, l.total[i], v, l.runs);
        }
        for (int b = 0; b < l.blocks; b++) {
            double total = 0;
            for (int i = 0; i < l.layers; i++)
                total += l.block_of[i] == b ? l.total[i] : 0;
            for (int r = 0; r < l.runs; r++)
                v[r] = report_block_sparsity(&l, r, last, b);
            add_row(&blocks, g, NULL, l.block_names[b], b, total, v, l.runs);
        }
        for (int i = 0; i < l.layers; i++) /* a layer's rows together: one curve each */
            for (int epoch = 0; epoch < l.epochs; epoch++) {
                char ep[16];
                snprintf(ep, sizeof ep, "%d", epoch);
                for (int r = 0; r < l.runs; r++)
                    v[r] = report_layer_sparsity(&l, r, epoch, i);
                add_row(&time, g, ep, l.names[i], i, l.total[i], v, l.runs);
            }
        free(v);
        report_layers_free(&l);
    }
    int rc = report_table_write(&final, e->dir, "layers_final.csv");
    rc |= report_table_write(&blocks, e->dir, "blocks_final.csv");
    return rc | report_table_write(&time, e->dir, "layers_over_time.csv");
}
