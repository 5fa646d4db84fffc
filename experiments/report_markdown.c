/* REPORT.md: for every research question its results table, the paper's
 * finding, how these runs read against it (difference with a 95% interval
 * over seeds, stated plainly either way) and its figures; experiments and
 * figures that are missing are said to be missing. */
#include "report.h"
#include "report_markdown.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct report_experiment *find_experiment(const struct report *r, const char *prefix,
                                                       int *index)
{
    for (int x = 0; x < r->count; x++)
        if (strncmp(r->experiments[x].name, prefix, strlen(prefix)) == 0) {
            *index = x;
            return &r->experiments[x];
        }
    return NULL;
}

static const struct report_groups *row_order_groups;
static int by_row_order(const void *a, const void *b)
{
    const struct report_group *x = &row_order_groups->g[*(const int *)a],
                              *y = &row_order_groups->g[*(const int *)b];
    /* groups arrive by model first: keep that, then sparsity rising, then as they came */
    const int ia = *(const int *)a, ib = *(const int *)b;
    if (strcmp(x->model, y->model) != 0)
        return ia - ib;
    if (x->sparsity != y->sparsity)
        return x->sparsity < y->sparsity ? -1 : 1;
    return ia - ib;
}

/* | model | sparsity | method | epochs | parameters | seeds | median | mean ± std | paper | */
static void results_table(const struct report_groups *gs, struct text *md)
{
    int paper = 0;
    for (int k = 0; k < gs->count; k++)
        paper |= !isnan(report_paper_accuracy(gs->g[k].model, gs->g[k].data, gs->g[k].method,
                                              gs->g[k].sparsity));
    int *order = malloc(((size_t)gs->count + 1) * sizeof *order);
    for (int k = 0; k < gs->count; k++)
        order[k] = k;
    row_order_groups = gs;
    qsort(order, (size_t)gs->count, sizeof *order, by_row_order);
    text_printf(md, "| model | sparsity | method | epochs | parameters | seeds | median acc %% | "
                    "mean ± std %% |%s\n",
                paper ? " paper (PAPER.md) % |" : "");
    text_printf(md, "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |%s\n",
                paper ? " ---: |" : "");
    for (int i = 0; i < gs->count; i++) {
        const struct report_group *g = &gs->g[order[i]];
        char seeds[32];
        snprintf(seeds, sizeof seeds, g->n == g->runs ? "%d" : "%d of %d", g->n, g->runs);
        text_printf(md, "| %s | %s | %s | %d | ", g->model, g->sparsity_text, g->label, g->epochs);
        if (g->n > 0)
            text_printf(md, "%.0f | %s | %.2f | %.2f ± %.2f |", g->params.mean, seeds,
                        g->acc.median, g->acc.mean, g->acc.std);
        else
            text_printf(md, "- | %s | - | - |", seeds);
        if (paper) {
            const double p = report_paper_accuracy(g->model, g->data, g->method, g->sparsity);
            if (isnan(p))
                text_printf(md, " |");
            else
                text_printf(md, " %.2f |", p);
        }
        text_printf(md, "\n");
    }
    text_printf(md, "\n");
    free(order);
}

void report_markdown_findings(const struct report_findings *fs, struct text *md)
{
    if (fs->count == 0) {
        text_printf(md, "No comparison can be made from these runs.\n\n");
        return;
    }
    int paper = 0, rho = 0;
    for (int i = 0; i < fs->count; i++) {
        paper |= !isnan(fs->f[i].paper);
        rho |= fs->f[i].claim == CLAIM_POSITIVE;
    }
    text_printf(md, "| model | sparsity | %s | %s | 95%% interval | seeds | reading |%s\n",
                rho ? "correlation" : "comparison", rho ? "mean over seeds" : "difference (points)",
                paper ? " paper |" : "");
    text_printf(md, "| --- | ---: | --- | ---: | --- | --- | --- |%s\n", paper ? " ---: |" : "");
    int supported = 0, against = 0;
    for (int i = 0; i < fs->count; i++) {
        const struct report_finding *f = &fs->f[i];
        const char *verdict = report_verdict(f);
        supported += strncmp(verdict, "supported", 9) == 0;
        against += strncmp(verdict, "not supported", 13) == 0;
        text_printf(md, "| %s | %g | %s | ", f->model, f->sparsity, f->subject);
        if (isnan(f->diff))
            text_printf(md, "- |");
        else
            text_printf(md, "%+.2f |", f->diff);
        if (isnan(f->low))
            text_printf(md, " - |");
        else
            text_printf(md, " [%+.2f, %+.2f] |", f->low, f->high);
        if (f->claim == CLAIM_POSITIVE)
            text_printf(md, " %d |", f->na);
        else
            text_printf(md, " %d vs %d |", f->na, f->nb);
        text_printf(md, " %s |", verdict);
        if (paper) {
            if (isnan(f->paper))
                text_printf(md, " |");
            else
                text_printf(md, " %+.2f |", f->paper);
        }
        text_printf(md, "\n");
    }
    text_printf(md, "\nIn all: %d supported, %d not supported, %d neither (inconclusive or not "
                    "measurable).\n\n",
                supported, against, fs->count - supported - against);
}

static void figures(const struct report *r, int x, struct text *md)
{
    const struct report_figures *fs = &r->figures[x];
    const char *dir = r->experiments[x].name;
    for (int i = 0; i < fs->count; i++) {
        const struct report_figure *f = &fs->f[i];
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/%s.png", r->root, dir, f->name);
        if (access(path, R_OK) == 0)
            text_printf(md, "![%s](%s/%s.png)\n\n*%s* ([PDF](%s/%s.pdf))\n\n", f->name, dir,
                        f->name, f->caption, dir, f->name);
        else
            text_printf(md, "- Figure `%s/%s.png` (%s) is not drawn yet: run `make figures "
                            "PROFILE=%s RESULTS=%s`.\n\n",
                        dir, f->name, f->caption, r->profile, r->results);
    }
}

static int has_figure(const struct report_figures *fs, const char *stem)
{
    for (int i = 0; i < fs->count; i++)
        if (strncmp(fs->f[i].name, stem, strlen(stem)) == 0)
            return 1;
    return 0;
}

static void missing_experiment(const struct report *r, const char *name, struct text *md)
{
    text_printf(md, "**Not run**: there is no `%s/summary.csv` here. Run `bin/dsrbench run "
                    "experiments/specs/%s.ini --profile %s --results %s`, then `make figures "
                    "PROFILE=%s RESULTS=%s`.\n\n",
                name, name, r->profile, r->results, r->profile, r->results);
}

static void section_budget(const struct report *r, struct text *md)
{
    text_printf(md, "## RQ1 and RQ2: accuracy under a parameter budget\n\n");
    text_printf(md, "Paper (PAPER.md): RQ1, DSR trains deep CNNs under a fixed parameter budget "
                    "to nearly the accuracy of the full dense network (WRN-28-2 on CIFAR-10: "
                    "93.63%% at s = 0.9 against 94.70%% dense, 94.71%% at s = 0.5); RQ2, DSR "
                    "beats static sparsity, DeepR, SET, HashedNet and thin dense networks at "
                    "the same parameter count, and matches post-training compression.\n\n");
    int x;
    const struct report_experiment *e = find_experiment(r, "rq1", &x);
    if (!e) {
        missing_experiment(r, "rq1_rq2_budget", md);
        return;
    }
    text_printf(md, "Experiment `%s` (results table: final test accuracy over seeds; "
                    "`aggregate.csv`).\n\n", e->name);
    results_table(&r->groups[x], md);
    struct report_findings fs = {0};
    report_findings_budget(&r->groups[x], &fs);
    text_printf(md, "### How these runs read\n\nRQ1 is read as \"DSR is at most 1 point below "
                    "dense\" (the paper's largest gap, at s = 0.9, is 1.07 points): the 95%% "
                    "interval of DSR minus dense lying above -1 supports it. RQ2: DSR minus each "
                    "other method at the same sparsity; an interval above 0 supports it.\n\n");
    report_markdown_findings(&fs, md);
    report_findings_free(&fs);
    text_printf(md, "### Figures\n\n");
    if (!has_figure(&r->figures[x], "accuracy_vs_params"))
        text_printf(md, "- No accuracy-vs-parameters figure: no complete runs.\n\n");
    figures(r, x, md);
}

static void section_ablations(const struct report *r, struct text *md)
{
    text_printf(md, "## RQ3: is continuous exploration of structure needed?\n\n");
    text_printf(md, "Paper (PAPER.md): DSR's final structure retrained from a new random init "
                    "(reinit-fixed-structure) or from the DSR run's own init "
                    "(original-init-fixed-structure), static sparsity, and DSR whose "
                    "reallocation stops after N epochs all fall below full DSR.\n\n");
    int x;
    const struct report_experiment *e = find_experiment(r, "rq3", &x);
    if (!e) {
        missing_experiment(r, "rq3_ablations", md);
        return;
    }
    text_printf(md, "Experiment `%s`.\n\n", e->name);
    results_table(&r->groups[x], md);
    struct report_findings fs = {0};
    report_findings_ablations(&r->groups[x], &fs);
    text_printf(md, "### How these runs read\n\nDSR minus each ablation at the same sparsity "
                    "(frozen after N epochs: against DSR of the same length); an interval above "
                    "0 supports the paper.\n\n");
    report_markdown_findings(&fs, md);
    report_findings_free(&fs);
    text_printf(md, "### Figures\n\n");
    if (!has_figure(&r->figures[x], "ablations"))
        text_printf(md, "- No ablation figure: no complete reinit-fixed-structure or "
                        "original-init-fixed-structure runs.\n\n");
    if (!has_figure(&r->figures[x], "frozen"))
        text_printf(md, "- No frozen-after-N figure: no complete frozen-after-N-epochs runs.\n\n");
    figures(r, x, md);
}

/* per model: | layer | size | s=... | with final sparsity mean ± std */
static void layer_table(const struct report_experiment *e, const char *csv, const char *unit,
                        const char *column, struct text *md)
{
    char path[4096], err[4200];
    snprintf(path, sizeof path, "%s/%s", e->dir, csv);
    struct csv_table t;
    if (csv_table_read(path, &t, err, sizeof err) != 0)
        return;
    const int cm = csv_table_column(&t, "model"), cs = csv_table_column(&t, "series"),
              cu = csv_table_column(&t, unit), ct = csv_table_column(&t, "total"),
              cmean = csv_table_column(&t, column);
    char std_column[64];
    snprintf(std_column, sizeof std_column, "%.*s_std", (int)(strlen(column) - 5), column);
    const int cstd = csv_table_column(&t, std_column);
    if (cm < 0 || cs < 0 || cu < 0 || ct < 0 || cmean < 0 || cstd < 0) {
        csv_table_free(&t);
        return;
    }
    for (int r0 = 0; r0 < t.rows; r0++) {
        const char *model = csv_table_cell(&t, r0, cm);
        int first = 1;
        for (int r = 0; r < r0 && first; r++)
            first = strcmp(csv_table_cell(&t, r, cm), model) != 0;
        if (!first)
            continue;
        /* the model's series, in order */
        const char *series[32];
        int ns = 0;
        for (int r = 0; r < t.rows && ns < 32; r++) {
            if (strcmp(csv_table_cell(&t, r, cm), model) != 0)
                continue;
            int seen = 0;
            for (int i = 0; i < ns; i++)
                seen |= strcmp(series[i], csv_table_cell(&t, r, cs)) == 0;
            if (!seen)
                series[ns++] = csv_table_cell(&t, r, cs);
        }
        text_printf(md, "Final sparsity per %s, %s (mean ± std over seeds):\n\n| %s | size |",
                    unit, model, unit);
        for (int i = 0; i < ns; i++)
            text_printf(md, " %s |", series[i]);
        text_printf(md, "\n| --- | ---: |");
        for (int i = 0; i < ns; i++)
            text_printf(md, " ---: |");
        text_printf(md, "\n");
        for (int r = 0; r < t.rows; r++) {
            if (strcmp(csv_table_cell(&t, r, cm), model) != 0 ||
                strcmp(csv_table_cell(&t, r, cs), series[0]) != 0)
                continue;
            const char *name = csv_table_cell(&t, r, cu);
            text_printf(md, "| %s | %s |", name, csv_table_cell(&t, r, ct));
            for (int i = 0; i < ns; i++) {
                int found = 0;
                for (int q = 0; q < t.rows && !found; q++)
                    if (strcmp(csv_table_cell(&t, q, cm), model) == 0 &&
                        strcmp(csv_table_cell(&t, q, cs), series[i]) == 0 &&
                        strcmp(csv_table_cell(&t, q, cu), name) == 0 &&
                        *csv_table_cell(&t, q, cmean)) {
                        text_printf(md, " %.3f ± %.3f |", atof(csv_table_cell(&t, q, cmean)),
                                    atof(csv_table_cell(&t, q, cstd)));
                        found = 1;
                    }
                if (!found)
                    text_printf(md, " - |");
            }
            text_printf(md, "\n");
        }
        text_printf(md, "\n");
    }
    csv_table_free(&t);
}

/* RQ4's correlations, from the layers.csv of every DSR group of experiment x */
static void layer_findings(const struct report *r, int x, struct report_findings *fs)
{
    const struct report_groups *gs = &r->groups[x];
    for (int k = 0; k < gs->count; k++) {
        const struct report_group *g = &gs->g[k];
        if (strcmp(g->method, "dsr") != 0 || g->n == 0)
            continue;
        struct report_layers l;
        char err[4200];
        if (report_layers_read(&r->experiments[x], g, &l, err, sizeof err) != 0)
            continue; /* report_write_csvs noted it */
        report_findings_layers(&l, fs);
        report_layers_free(&l);
    }
}

/* the findings of question q (1..4), from the experiment that answers it */
static const char *question_findings(const struct report *r, int q, struct report_findings *fs)
{
    static const char *const prefix[] = {"", "rq1", "rq1", "rq3", "rq4"};
    int x;
    const struct report_experiment *e = find_experiment(r, prefix[q], &x);
    if (!e)
        return NULL;
    struct report_findings all = {0};
    if (q <= 2)
        report_findings_budget(&r->groups[x], &all);
    else if (q == 3)
        report_findings_ablations(&r->groups[x], &all);
    else
        layer_findings(r, x, &all);
    for (int i = 0; i < all.count; i++)
        if (all.f[i].question == q)
            *report_findings_add(fs) = all.f[i];
    report_findings_free(&all);
    return e->name;
}

/* one line per question: how many of its findings these runs support */
static void findings_in_brief(const struct report *r, struct text *md)
{
    static const char *const claim[] = {
        "",
        "DSR comes within 1 point of full dense",
        "DSR beats every other method at the same sparsity",
        "DSR beats its retrained structure, static, and reallocation stopped early",
        "larger and deeper layers end up sparser",
    };
    text_printf(md, "## Findings in brief\n\n| question | the paper's finding | experiment | "
                    "supported | not supported | neither |\n| --- | --- | --- | ---: | ---: | "
                    "---: |\n");
    for (int q = 1; q <= 4; q++) {
        struct report_findings fs = {0};
        const char *name = question_findings(r, q, &fs);
        int yes = 0, no = 0;
        for (int i = 0; i < fs.count; i++) {
            const char *v = report_verdict(&fs.f[i]);
            yes += strncmp(v, "supported", 9) == 0;
            no += strncmp(v, "not supported", 13) == 0;
        }
        if (name)
            text_printf(md, "| RQ%d | %s | `%s` | %d | %d | %d |\n", q, claim[q], name, yes, no,
                        fs.count - yes - no);
        else
            text_printf(md, "| RQ%d | %s | not run | - | - | - |\n", q, claim[q]);
        report_findings_free(&fs);
    }
    text_printf(md, "\n\"Neither\" is inconclusive (the 95%% interval straddles the line) or not "
                    "measurable (fewer than 2 seeds, or no runs to compare); each question's "
                    "section below has every comparison.\n\n");
}

static void section_layers(const struct report *r, struct text *md)
{
    text_printf(md, "## RQ4: which per-layer sparsity patterns emerge?\n\n");
    text_printf(md, "Paper (PAPER.md): under DSR, larger tensors and deeper layers end up "
                    "sparser.\n\n");
    int x;
    const struct report_experiment *e = find_experiment(r, "rq4", &x);
    if (!e) {
        missing_experiment(r, "rq4_layers", md);
        return;
    }
    text_printf(md, "Experiment `%s`.\n\n", e->name);
    results_table(&r->groups[x], md);
    layer_table(e, "layers_final.csv", "layer", "layer_sparsity_mean", md);
    layer_table(e, "blocks_final.csv", "block", "block_sparsity_mean", md);
    struct report_findings fs = {0};
    layer_findings(r, x, &fs);
    text_printf(md, "### How these runs read\n\nSpearman's rank correlation of each run's final "
                    "per-layer sparsity with the tensor's size and with its depth (its place in "
                    "the network), as the mean over seeds with a 95%% t interval; an interval "
                    "above 0 supports the paper. With 3 layers (LeNet-300-100) rho takes only "
                    "the values ±1 and ±0.5, and size falls with depth there, so the two "
                    "cannot both hold.\n\n");
    report_markdown_findings(&fs, md);
    report_findings_free(&fs);
    text_printf(md, "### Figures\n\n");
    if (!has_figure(&r->figures[x], "layers_final"))
        text_printf(md, "- No per-layer figures: no complete DSR runs with layers.csv.\n\n");
    else if (!has_figure(&r->figures[x], "blocks_final"))
        text_printf(md, "- No per-block figure: none of these models has residual blocks.\n\n");
    figures(r, x, md);
}

static void section_others(const struct report *r, struct text *md)
{
    for (int x = 0; x < r->count; x++) {
        const char *n = r->experiments[x].name;
        if (strncmp(n, "rq1", 3) == 0 || strncmp(n, "rq3", 3) == 0 || strncmp(n, "rq4", 3) == 0)
            continue;
        text_printf(md, "## Experiment `%s`\n\n", n);
        results_table(&r->groups[x], md);
        figures(r, x, md);
    }
}

int report_write_markdown(const struct report *r, const char *path)
{
    struct text md = {0};
    text_printf(&md, "# dsrbench results: profile `%s`\n\n", r->profile);
    text_printf(&md, "Made by `dsrbench report` from the `summary.csv` of every experiment "
                     "below this folder and the runs' `epochs.csv` and `layers.csv`. Accuracy "
                     "is the final epoch's test accuracy in %%; intervals are 95%% intervals "
                     "over seeds (Welch's for differences of means); a finding with fewer than "
                     "2 seeds on a side has no interval and is not judged.\n\n");
    if (strcmp(r->profile, "smoke") == 0)
        text_printf(&md, "**The smoke profile checks the pipeline** (tiny subsets, 1 or 2 "
                         "epochs): its numbers say nothing about the paper's findings. The "
                         "`default` profile (`make reproduce`) is the one to read.\n\n");
    report_markdown_provenance(r, &md);
    findings_in_brief(r, &md);
    section_budget(r, &md);
    section_ablations(r, &md);
    section_layers(r, &md);
    section_others(r, &md);
    if (r->notes.len)
        text_printf(&md, "## Notes\n\n%s\n", r->notes.data);
    const int rc = write_file_atomic(path, md.data, md.len);
    text_free(&md);
    return rc;
}
