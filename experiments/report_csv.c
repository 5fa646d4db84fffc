/* The aggregated CSVs made from summary.csv alone: aggregate.csv (every
 * configuration over seeds), ablations.csv (RQ3's fixed-structure ablations
 * beside DSR and static) and frozen.csv (accuracy against the epoch at which
 * reallocation stopped, beside full DSR). */
#include "report.h"
#include "report_csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void report_cell(char *buf, size_t len, const char *fmt, double v)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, len, fmt, v);
}

void report_series(const struct report_group *g, char *buf, size_t len)
{
    const char *bracket = strchr(g->label, '[');
    snprintf(buf, len, "s=%s%s", g->sparsity_text, bracket ? bracket : "");
}

int report_table_write(struct csv_table *t, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const int rc = t->rows > 0 ? csv_table_write(t, path) : 0;
    if (t->rows == 0)
        remove(path); /* an earlier report's file would describe runs that are gone */
    csv_table_free(t);
    return rc;
}

static const char *aggregate_columns[] = {
    "model",    "data",     "method",     "label",         "sparsity",      "epochs",
    "method_options", "runs", "n",        "params_mean",   "acc_mean",      "acc_std",
    "acc_median", "acc_min", "acc_max",   "best_acc_mean", "paper_acc"};

static int write_aggregate(const struct report_experiment *e, const struct report_groups *gs)
{
    struct csv_table t;
    csv_table_init(&t, aggregate_columns, sizeof aggregate_columns / sizeof *aggregate_columns);
    for (int k = 0; k < gs->count; k++) {
        const struct report_group *g = &gs->g[k];
        char epochs[16], runs[16], n[16], params[32], mean[32], std[32], median[32], lo[32],
            hi[32], best[32], paper[32];
        snprintf(epochs, sizeof epochs, "%d", g->epochs);
        snprintf(runs, sizeof runs, "%d", g->runs);
        snprintf(n, sizeof n, "%d", g->n);
        report_cell(params, sizeof params, "%.1f", g->params.mean);
        report_cell(mean, sizeof mean, "%.4f", g->acc.mean);
        report_cell(std, sizeof std, "%.4f", g->n > 0 ? g->acc.std : NAN);
        report_cell(median, sizeof median, "%.4f", g->acc.median);
        report_cell(lo, sizeof lo, "%.4f", g->acc.min);
        report_cell(hi, sizeof hi, "%.4f", g->acc.max);
        report_cell(best, sizeof best, "%.4f", g->best.mean);
        report_cell(paper, sizeof paper, "%.2f",
                    report_paper_accuracy(g->model, g->data, g->method, g->sparsity));
        const char *row[] = {g->model, g->data,   g->method, g->label, g->sparsity_text,
                             epochs,   g->options, runs,     n,        params,
                             mean,     std,        median,   lo,       hi,
                             best,     paper};
        csv_table_add_row(&t, row);
    }
    return report_table_write(&t, e->dir, "aggregate.csv");
}

static int is_rq3_method(const char *m)
{
    return strcmp(m, "dsr") == 0 || strcmp(m, "reinit-fixed-structure") == 0 ||
           strcmp(m, "original-init-fixed-structure") == 0 || strcmp(m, "static") == 0;
}

/* the rank of g's sparsity among the model's RQ3 sparsities, densest first:
 * its category on the figure's x axis */
static int sparsity_rank(const struct report_groups *gs, const struct report_group *g)
{
    double lower[64];
    int count = 0;
    for (int j = 0; j < gs->count && count < 64; j++) {
        const struct report_group *o = &gs->g[j];
        if (!is_rq3_method(o->method) || strcmp(o->model, g->model) != 0 ||
            o->sparsity >= g->sparsity - 1e-9)
            continue;
        int seen = 0;
        for (int i = 0; i < count; i++)
            seen |= fabs(lower[i] - o->sparsity) < 1e-9;
        if (!seen)
            lower[count++] = o->sparsity;
    }
    return count;
}

static const char *ablation_columns[] = {"model",    "data", "sparsity", "sparsity_index",
                                         "method",   "label", "n",       "acc_mean",
                                         "acc_std",  "acc_median"};

/* written when the experiment has a fixed-structure ablation */
static int write_ablations(const struct report_experiment *e, const struct report_groups *gs)
{
    int any = 0;
    for (int k = 0; k < gs->count; k++)
        any |= is_rq3_method(gs->g[k].method) && strcmp(gs->g[k].method, "dsr") != 0 &&
               strcmp(gs->g[k].method, "static") != 0;
    struct csv_table t;
    csv_table_init(&t, ablation_columns, sizeof ablation_columns / sizeof *ablation_columns);
    for (int k = 0; any && k < gs->count; k++) {
        const struct report_group *g = &gs->g[k];
        if (!is_rq3_method(g->method))
            continue;
        const int index = sparsity_rank(gs, g);
        char idx[16], n[16], mean[32], std[32], median[32];
        snprintf(idx, sizeof idx, "%d", index);
        snprintf(n, sizeof n, "%d", g->n);
        report_cell(mean, sizeof mean, "%.4f", g->acc.mean);
        report_cell(std, sizeof std, "%.4f", g->n > 0 ? g->acc.std : NAN);
        report_cell(median, sizeof median, "%.4f", g->acc.median);
        const char *row[] = {g->model, g->data, g->sparsity_text, idx, g->method, g->label, n,
                             mean,     std,     median};
        csv_table_add_row(&t, row);
    }
    return report_table_write(&t, e->dir, "ablations.csv");
}

static const char *frozen_columns[] = {
    "model",   "data",    "sparsity",   "stop_epoch", "epochs",  "n",      "acc_mean",
    "acc_std", "acc_median", "dsr_n",   "dsr_acc_mean", "dsr_acc_std", "dsr_acc_median"};

static const struct report_groups *sort_groups; /* for by_frozen_order */

static int by_frozen_order(const void *a, const void *b)
{
    const struct report_group *x = &sort_groups->g[*(const int *)a],
                              *y = &sort_groups->g[*(const int *)b];
    const int model = strcmp(x->model, y->model);
    if (model)
        return model;
    if (x->sparsity != y->sparsity)
        return x->sparsity < y->sparsity ? -1 : 1;
    const double sx = report_option(x->options, "stop_epoch"),
                 sy = report_option(y->options, "stop_epoch");
    return (sx > sy) - (sx < sy);
}

static int write_frozen(const struct report_experiment *e, const struct report_groups *gs)
{
    int *order = malloc(((size_t)gs->count + 1) * sizeof *order), count = 0;
    for (int k = 0; k < gs->count; k++)
        if (strcmp(gs->g[k].method, "frozen-after-N-epochs") == 0)
            order[count++] = k;
    sort_groups = gs;
    qsort(order, (size_t)count, sizeof *order, by_frozen_order);
    struct csv_table t;
    csv_table_init(&t, frozen_columns, sizeof frozen_columns / sizeof *frozen_columns);
    for (int i = 0; i < count; i++) {
        const struct report_group *g = &gs->g[order[i]];
        const struct report_group *dsr =
            report_find_group(gs, g->model, g->data, "dsr", g->sparsity, g->epochs);
        char stop[32], epochs[16], n[16], mean[32], std[32], median[32], dn[16], dmean[32],
            dstd[32], dmedian[32];
        report_cell(stop, sizeof stop, "%g", report_option(g->options, "stop_epoch"));
        snprintf(epochs, sizeof epochs, "%d", g->epochs);
        snprintf(n, sizeof n, "%d", g->n);
        report_cell(mean, sizeof mean, "%.4f", g->acc.mean);
        report_cell(std, sizeof std, "%.4f", g->n > 0 ? g->acc.std : NAN);
        report_cell(median, sizeof median, "%.4f", g->acc.median);
        snprintf(dn, sizeof dn, "%d", dsr ? dsr->n : 0);
        report_cell(dmean, sizeof dmean, "%.4f", dsr ? dsr->acc.mean : NAN);
        report_cell(dstd, sizeof dstd, "%.4f", dsr && dsr->n > 0 ? dsr->acc.std : NAN);
        report_cell(dmedian, sizeof dmedian, "%.4f", dsr ? dsr->acc.median : NAN);
        const char *row[] = {g->model, g->data, g->sparsity_text, stop, epochs, n, mean, std,
                             median,   dn,      dmean,            dstd, dmedian};
        csv_table_add_row(&t, row);
    }
    free(order);
    return report_table_write(&t, e->dir, "frozen.csv");
}

int report_write_csvs(const struct report_experiment *e, const struct report_groups *gs,
                      struct text *notes)
{
    int rc = write_aggregate(e, gs);
    rc |= write_ablations(e, gs);
    rc |= write_frozen(e, gs);
    rc |= report_write_curves(e, gs, notes);
    rc |= report_write_layer_csvs(e, gs, notes);
    return rc ? -1 : 0;
}
