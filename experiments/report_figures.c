/* Which figures an experiment gets (by the research question in its name:
 * rq1..., rq3..., rq4...), and the gnuplot variables each script in plots/
 * takes: the CSV, the output name and the lists of models, series and layers
 * it loops over. The lists come from the CSVs themselves, so a figure is
 * planned only when its data exists. */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gnuplot -e text: name='value' pairs joined by "; " */
struct vars {
    char *text;
    size_t len, cap;
};

static void var(struct vars *v, const char *name, const char *value)
{
    const size_t need = v->len + strlen(name) + 2 * strlen(value) + 8;
    if (need > v->cap) {
        v->cap = 2 * need;
        v->text = report_must(realloc(v->text, v->cap));
    }
    v->len += (size_t)sprintf(v->text + v->len, "%s%s='", v->len ? "; " : "", name);
    for (const char *c = value; *c; c++) { /* a quote inside gnuplot's '...' is doubled */
        if (*c == '\'')
            v->text[v->len++] = '\'';
        v->text[v->len++] = *c;
    }
    v->text[v->len++] = '\'';
    v->text[v->len] = '\0';
}

/* a growing space-separated word list */
struct words {
    char text[8192];
    size_t len;
};

static int has_word(const struct words *w, const char *word)
{
    const size_t n = strlen(word);
    for (const char *p = w->text; (p = strstr(p, word)) != NULL; p += n)
        if ((p == w->text || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

static void add_word(struct words *w, const char *word)
{
    if (!*word || has_word(w, word) || w->len + strlen(word) + 2 > sizeof w->text)
        return;
    w->len += (size_t)snprintf(w->text + w->len, sizeof w->text - w->len, "%s%s",
                               w->len ? " " : "", word);
}

/* the next word of the list at *p into out, *p moved past it; 0 at the end */
static int next_word(const char **p, char *out, size_t out_len)
{
    if (!**p)
        return 0;
    const size_t n = strcspn(*p, " ");
    snprintf(out, out_len, "%.*s", (int)n, *p);
    *p += n + ((*p)[n] == ' ');
    return 1;
}

/* the distinct values of column col, in order, over the rows whose column
 * where equals value (where NULL: every row) */
static void distinct(const struct csv_table *t, const char *col, const char *where,
                     const char *value, struct words *out)
{
    *out = (struct words){0};
    const int c = csv_table_column(t, col), w = where ? csv_table_column(t, where) : -1;
    if (c < 0 || (where && w < 0))
        return;
    for (int r = 0; r < t->rows; r++)
        if (!where || strcmp(csv_table_cell(t, r, w), value) == 0)
            add_word(out, csv_table_cell(t, r, c));
}

static int read_csv(const struct report_experiment *e, const char *name, struct csv_table *t)
{
    char path[4096], err[4200];
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    return csv_table_read(path, t, err, sizeof err) == 0 && t->rows > 0 ? 0 : -1;
}

static struct report_figure *add(struct report_figures *fs, const char *script, const char *name,
                                 const char *caption, struct vars *v)
{
    fs->f = report_must(realloc(fs->f, ((size_t)fs->count + 1) * sizeof *fs->f));
    struct report_figure *f = &fs->f[fs->count++];
    *f = (struct report_figure){.script = script, .vars = v->text};
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->caption, sizeof f->caption, "%s", caption);
    var(v, "out", name); /* the script writes out.png and out.pdf */
    f->vars = v->text;
    return f;
}

/* RQ1/RQ2: one panel per model, one curve per method (label), full dense as
 * a line at its median */
static void plan_budget(const struct report_experiment *e, const struct report_groups *gs,
                        struct report_figures *fs)
{
    struct csv_table t;
    if (read_csv(e, "aggregate.csv", &t) != 0)
        return;
    struct vars v = {0};
    var(&v, "data", "aggregate.csv");
    /* models with at least one complete group */
    struct words with_runs = {0}, dense = {0}, all = {0};
    for (int k = 0; k < gs->count; k++)
        if (gs->g[k].n > 0) {
            add_word(&with_runs, gs->g[k].model);
            if (strcmp(gs->g[k].method, "dense") != 0)
                add_word(&all, gs->g[k].label);
        }
    var(&v, "models", with_runs.text);
    var(&v, "all", all.text); /* every curve's label: its colour is its place here */
    int i = 0;
    char name[64], word[64];
    for (const char *p = with_runs.text; next_word(&p, word, sizeof word); i++) {
        struct words labels = {0};
        const struct report_group *d = NULL;
        for (int k = 0; k < gs->count; k++) {
            const struct report_group *g = &gs->g[k];
            if (strcmp(g->model, word) != 0 || g->n == 0)
                continue;
            if (strcmp(g->method, "dense") == 0)
                d = d ? d : g;
            else
                add_word(&labels, g->label);
        }
        snprintf(name, sizeof name, "labels%d", i + 1);
        var(&v, name, labels.text);
        char median[32];
        snprintf(median, sizeof median, d ? "%.4f" : "-", d ? d->acc.median : 0.0);
        /* a word per model, "-" where it has no dense run */
        dense.len += (size_t)snprintf(dense.text + dense.len, sizeof dense.text - dense.len,
                                      "%s%s", dense.len ? " " : "", median);
    }
    var(&v, "dense", dense.text);
    add(fs, "accuracy_vs_params.gp", "accuracy_vs_params",
        "Final test accuracy against the number of parameters (log scale): median over seeds, "
        "error bars one std; dashed: full dense; methods at the same count are shifted a few "
        "percent apart along x so that none hides another", &v);
    csv_table_free(&t);
}

/* test accuracy per epoch: one figure per model, a panel per sparsity */
static void plan_curves(const struct report_experiment *e, struct report_figures *fs)
{
    struct csv_table t;
    if (read_csv(e, "curves.csv", &t) != 0)
        return;
    struct words models;
    distinct(&t, "model", NULL, NULL, &models);
    char model[64];
    for (const char *p = models.text; next_word(&p, model, sizeof model);) {
        struct words sparsities = {0}, labels, dense_labels = {0}, all = {0};
        const int cm = csv_table_column(&t, "model"), cs = csv_table_column(&t, "sparsity"),
                  cl = csv_table_column(&t, "label"), cmeth = csv_table_column(&t, "method");
        for (int r = 0; r < t.rows; r++)
            if (strcmp(csv_table_cell(&t, r, cm), model) == 0) {
                if (strcmp(csv_table_cell(&t, r, cmeth), "dense") == 0) {
                    add_word(&dense_labels, csv_table_cell(&t, r, cl));
                } else {
                    add_word(&sparsities, csv_table_cell(&t, r, cs));
                    add_word(&all, csv_table_cell(&t, r, cl));
                }
            }
        if (!sparsities.len)
            add_word(&sparsities, "0");
        struct vars v = {0};
        var(&v, "data", "curves.csv");
        var(&v, "model", model);
        var(&v, "sparsities", sparsities.text);
        var(&v, "dense", dense_labels.text);
        var(&v, "all", all.text);
        int i = 0;
        char s[64], name[160];
        for (const char *q = sparsities.text; next_word(&q, s, sizeof s); i++) {
            labels = (struct words){0};
            for (int r = 0; r < t.rows; r++)
                if (strcmp(csv_table_cell(&t, r, cm), model) == 0 &&
                    strcmp(csv_table_cell(&t, r, cs), s) == 0 &&
                    strcmp(csv_table_cell(&t, r, cmeth), "dense") != 0)
                    add_word(&labels, csv_table_cell(&t, r, cl));
            snprintf(name, sizeof name, "labels%d", i + 1);
            var(&v, name, labels.text);
        }
        snprintf(name, sizeof name, "accuracy_curves_%s", model);
        char caption[256];
        snprintf(caption, sizeof caption,
                 "%s: test accuracy after every epoch, mean over seeds, one panel per "
                 "sparsity%s", model, dense_labels.len ? " (full dense dashed in each)" : "");
        add(fs, "accuracy_curves.gp", name, caption, &v);
    }
    csv_table_free(&t);
}

/* one figure per model from a CSV with a series column (DSR's global
 * sparsities): the figure stem_MODEL drawn by script, captioned
 * "MODEL: caption_tail" */
struct per_model_figure {
    const char *csv, *script, *stem, *caption_tail;
    const char *unit_column; /* lists the layers or blocks in order; NULL: none */
};

static const struct per_model_figure dsr_dynamics = {
    "dynamics.csv", "dsr_dynamics.gp", "dsr_dynamics",
    "DSR's threshold H (log scale) and weights pruned per epoch, mean over seeds", NULL};

/* RQ4: where DSR leaves the parameters, per layer and block (then its dynamics) */
static const struct per_model_figure layer_figures[] = {
    {"layers_final.csv", "layers_final.gp", "layers_final",
     "final sparsity of every sparse layer at each global sparsity, mean and std over seeds",
     "layer"},
    {"blocks_final.csv", "blocks_final.gp", "blocks_final",
     "final sparsity of every residual block at each global sparsity, mean and std over seeds",
     "block"},
    {"layers_over_time.csv", "layers_over_time.gp", "layers_over_time",
     "sparsity of every layer after every epoch, mean over seeds, one panel per global sparsity",
     "layer"},
};

static void plan_per_model(const struct report_experiment *e, struct report_figures *fs,
                           const struct per_model_figure *pf)
{
    struct csv_table t;
    if (read_csv(e, pf->csv, &t) != 0)
        return;
    struct words models;
    distinct(&t, "model", NULL, NULL, &models);
    char model[64];
    for (const char *p = models.text; next_word(&p, model, sizeof model);) {
        struct words series, units;
        distinct(&t, "series", "model", model, &series);
        struct vars v = {0};
        var(&v, "data", pf->csv);
        var(&v, "model", model);
        var(&v, "series", series.text);
        if (pf->unit_column) {
            distinct(&t, pf->unit_column, "model", model, &units);
            var(&v, "units", units.text);
        }
        char name[160], caption[256];
        snprintf(name, sizeof name, "%s_%s", pf->stem, model);
        snprintf(caption, sizeof caption, "%s: %s", model, pf->caption_tail);
        add(fs, pf->script, name, caption, &v);
    }
    csv_table_free(&t);
}

/* RQ3: fixed-structure ablations per sparsity, and frozen after N epochs */
static void plan_ablations(const struct report_experiment *e, struct report_figures *fs)
{
    struct csv_table t;
    if (read_csv(e, "ablations.csv", &t) == 0) {
        struct vars v = {0};
        struct words models, methods;
        distinct(&t, "model", NULL, NULL, &models);
        distinct(&t, "method", NULL, NULL, &methods);
        var(&v, "data", "ablations.csv");
        var(&v, "models", models.text);
        /* the paper's order, as far as present */
        static const char *const order[] = {"dsr", "reinit-fixed-structure",
                                            "original-init-fixed-structure", "static"};
        struct words ordered = {0};
        for (int i = 0; i < 4; i++)
            if (has_word(&methods, order[i]))
                add_word(&ordered, order[i]);
        var(&v, "methods", ordered.text);
        int i = 0;
        char model[64], name[32];
        /* the x axis' categories per model */
        for (const char *p = models.text; next_word(&p, model, sizeof model); i++) {
            struct words sparsities;
            distinct(&t, "sparsity", "model", model, &sparsities);
            snprintf(name, sizeof name, "sparsities%d", i + 1);
            var(&v, name, sparsities.text);
        }
        add(fs, "ablations.gp", "ablations",
            "RQ3: DSR against its final structure retrained from a new init (reinit) and from "
            "its own init (original-init), and static: median over seeds, error bars one std",
            &v);
        csv_table_free(&t);
    }
    if (read_csv(e, "frozen.csv", &t) == 0) {
        struct vars v = {0};
        struct words models, sparsities;
        distinct(&t, "model", NULL, NULL, &models);
        distinct(&t, "sparsity", NULL, NULL, &sparsities);
        var(&v, "data", "frozen.csv");
        var(&v, "models", models.text);
        var(&v, "sparsities", sparsities.text);
        add(fs, "frozen.gp", "frozen",
            "RQ3: final test accuracy against the epoch at which reallocation stopped (median, "
            "error bars one std); dashed: full DSR of the same length", &v);
        csv_table_free(&t);
    }
}

void report_figures_plan(const struct report_experiment *e, const struct report_groups *gs,
                         struct report_figures *out)
{
    *out = (struct report_figures){0};
    const char *n = e->name;
    if (strncmp(n, "rq1", 3) == 0) {
        plan_budget(e, gs, out);
        plan_curves(e, out);
        plan_per_model(e, out, &dsr_dynamics);
    } else if (strncmp(n, "rq3", 3) == 0) {
        plan_ablations(e, out);
        plan_curves(e, out);
    } else if (strncmp(n, "rq4", 3) == 0) {
        for (size_t i = 0; i < sizeof layer_figures / sizeof layer_figures[0]; i++)
            plan_per_model(e, out, &layer_figures[i]);
        plan_per_model(e, out, &dsr_dynamics);
    } else {
        plan_curves(e, out);
    }
}

void report_figures_free(struct report_figures *fs)
{
    for (int i = 0; i < fs->count; i++)
        free(fs->f[i].vars);
    free(fs->f);
    *fs = (struct report_figures){0};
}

int report_figures_write(const struct report_experiment *e, const struct report_figures *fs)
{
    struct text t = {0};
    for (int i = 0; i < fs->count; i++)
        text_printf(&t, "%s\t%s\t%s\n", fs->f[i].script, fs->f[i].name, fs->f[i].vars);
    char path[4096];
    snprintf(path, sizeof path, "%s/figures.tsv", e->dir);
    const int rc = write_file_atomic(path, t.data ? t.data : "", t.len);
    text_free(&t);
    return rc;
}
