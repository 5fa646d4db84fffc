/* RQ4: the per-layer sparsity DSR ends up with. Reads the layers.csv of a
 * group's runs (epoch, layer, total, active) into one array, groups layers
 * into residual blocks by name, and correlates final layer sparsity with
 * tensor size and depth. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "block1.0.conv1.weight" -> "block1.0": the name without its last two parts,
 * when it has more than two; else none (LeNet's "fc1.weight") */
static int block_name(const char *layer, char *out, size_t len)
{
    const char *last = strrchr(layer, '.');
    if (!last)
        return 0;
    const char *second = last;
    while (second > layer && second[-1] != '.')
        second--;
    if (second == layer)
        return 0;
    snprintf(out, len, "%.*s", (int)(second - 1 - layer), layer);
    return 1;
}

static void find_blocks(struct report_layers *l)
{
    l->block_of = malloc(((size_t)l->layers + 1) * sizeof *l->block_of);
    l->block_names = calloc((size_t)l->layers + 1, sizeof *l->block_names);
    for (int i = 0; i < l->layers; i++) {
        char name[256];
        l->block_of[i] = -1;
        if (!block_name(l->names[i], name, sizeof name))
            continue;
        int b = 0;
        while (b < l->blocks && strcmp(l->block_names[b], name) != 0)
            b++;
        if (b == l->blocks)
            l->block_names[l->blocks++] = report_copy(name);
        l->block_of[i] = b;
    }
}

static int layer_index(const struct report_layers *l, const char *name)
{
    for (int i = 0; i < l->layers; i++)
        if (strcmp(l->names[i], name) == 0)
            return i;
    return -1;
}

int report_layers_read(const struct report_experiment *e, const struct report_group *g,
                       struct report_layers *l, char *err, size_t err_len)
{
    *l = (struct report_layers){.group = g, .epochs = g->epochs, .runs = g->n};
    for (int r = 0; r < g->n; r++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/layers.csv", e->dir, e->runs[g->members[r]].run_id);
        struct csv_table t;
        if (csv_table_read(path, &t, err, err_len) != 0) {
            report_layers_free(l);
            return -1;
        }
        const int ce = csv_table_column(&t, "epoch"), cl = csv_table_column(&t, "layer"),
                  ct = csv_table_column(&t, "total"), ca = csv_table_column(&t, "active");
        if (ce < 0 || cl < 0 || ct < 0 || ca < 0) {
            snprintf(err, err_len, "%s: expected the columns epoch, layer, total, active", path);
            csv_table_free(&t);
            report_layers_free(l);
            return -1;
        }
        if (r == 0) { /* the layers, in network order, from the first run's first epoch */
            l->names = calloc((size_t)t.rows + 1, sizeof *l->names);
            l->total = calloc((size_t)t.rows + 1, sizeof *l->total);
            for (int i = 0; i < t.rows && atoi(csv_table_cell(&t, i, ce)) == atoi(csv_table_cell(&t, 0, ce)); i++) {
                l->names[l->layers] = report_copy(csv_table_cell(&t, i, cl));
                l->total[l->layers++] = atof(csv_table_cell(&t, i, ct));
            }
            const size_t cells = (size_t)l->runs * (size_t)l->epochs * (size_t)l->layers;
            l->active = malloc((cells + 1) * sizeof *l->active);
            for (size_t i = 0; i < cells; i++)
                l->active[i] = NAN;
        }
        for (int i = 0; i < t.rows; i++) {
            const int epoch = atoi(csv_table_cell(&t, i, ce));
            const int layer = layer_index(l, csv_table_cell(&t, i, cl));
            if (epoch < 0 || epoch >= l->epochs || layer < 0) {
                snprintf(err, err_len, "%s: line %d: epoch %s / layer '%s' is not one of the "
                         "run's %d epochs and %d layers", path, i + 2, csv_table_cell(&t, i, ce),
                         csv_table_cell(&t, i, cl), l->epochs, l->layers);
                csv_table_free(&t);
                report_layers_free(l);
                return -1;
            }
            l->active[((size_t)r * l->epochs + epoch) * l->layers + layer] =
                atof(csv_table_cell(&t, i, ca));
        }
        csv_table_free(&t);
    }
    find_blocks(l);
    return 0;
}

void report_layers_free(struct report_layers *l)
{
    for (int i = 0; l->names && i < l->layers; i++)
        free(l->names[i]);
    for (int b = 0; l->block_names && b < l->blocks; b++)
        free(l->block_names[b]);
    free(l->names);
    free(l->total);
    free(l->active);
    free(l->block_names);
    free(l->block_of);
    *l = (struct report_layers){0};
}

double report_layer_sparsity(const struct report_layers *l, int r, int epoch, int layer)
{
    const double active = l->active[((size_t)r * l->epochs + epoch) * l->layers + layer];
    return 1.0 - active / l->total[layer];
}

double report_block_sparsity(const struct report_layers *l, int r, int epoch, int block)
{
    double active = 0, total = 0;
    for (int i = 0; i < l->layers; i++)
        if (l->block_of[i] == block) {
            active += l->active[((size_t)r * l->epochs + epoch) * l->layers + i];
            total += l->total[i];
        }
    return total > 0 ? 1.0 - active / total : NAN;
}

/* rho of x with final sparsity, per run, as a finding with a t interval over runs */
static void correlation(const struct report_layers *l, const double *x, const char *what,
                        struct report_finding *f)
{
    double *sparsity = malloc(((size_t)l->layers + 1) * sizeof *sparsity);
    double *rho = malloc(((size_t)l->runs + 1) * sizeof *rho);
    int n = 0;
    for (int r = 0; r < l->runs; r++) {
        int complete = 1;
        for (int i = 0; i < l->layers; i++) {
            sparsity[i] = report_layer_sparsity(l, r, l->epochs - 1, i);
            complete &= !isnan(sparsity[i]);
        }
        const double v = complete ? spearman(x, sparsity, l->layers) : NAN;
        if (!isnan(v))
            rho[n++] = v;
    }
    const struct report_group *g = l->group;
    *f = (struct report_finding){.question = 4, .claim = CLAIM_POSITIVE, .sparsity = g->sparsity,
                                 .diff = NAN, .low = NAN, .high = NAN, .paper = NAN, .na = n};
    snprintf(f->model, sizeof f->model, "%s", g->model);
    snprintf(f->data, sizeof f->data, "%s", g->data);
    snprintf(f->subject, sizeof f->subject, "rho(%s, final sparsity)", what);
    if (n > 0) {
        const struct summary s = summarize(rho, n);
        f->diff = s.mean;
        if (n > 1) {
            const double half = t_quantile_975(n - 1) * s.std / sqrt(n);
            f->low = fmax(s.mean - half, -1.0); /* rho lies in [-1, 1] */
            f->high = fmin(s.mean + half, 1.0);
        }
    }
    free(sparsity);
    free(rho);
}

void report_findings_layers(const struct report_layers *l, struct report_findings *out)
{
    double *depth = malloc(((size_t)l->layers + 1) * sizeof *depth);
    for (int i = 0; i < l->layers; i++)
        depth[i] = i;
    correlation(l, l->total, "tensor size", report_findings_add(out));
    correlation(l, depth, "depth", report_findings_add(out));
    free(depth);
}
