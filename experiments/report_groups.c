/* Runs grouped over seeds: one group per configuration, with summaries of its
 * final accuracy and parameter count, and a label that tells it from the
 * method's other configurations. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_config(const struct report_group *g, const struct report_run *r)
{
    return strcmp(g->model, r->model) == 0 && strcmp(g->data, r->data) == 0 &&
           strcmp(g->method, r->method) == 0 && strcmp(g->sparsity_text, r->sparsity_text) == 0 &&
           g->epochs == r->epochs && strcmp(g->options, r->options) == 0;
}

/* position of the first group with this model (or model and method) */
static int first_index(const struct report_groups *gs, const struct report_group *g, int method)
{
    for (int i = 0; i < gs->count; i++)
        if (strcmp(gs->g[i].model, g->model) == 0 &&
            (!method || strcmp(gs->g[i].method, g->method) == 0))
            return i;
    return 0;
}

struct sort_key {
    int model, method, order;
    double sparsity;
};

static int by_key(const void *a, const void *b)
{
    const struct sort_key *x = a, *y = b;
    if (x->model != y->model)
        return x->model - y->model;
    if (x->method != y->method)
        return x->method - y->method;
    if (x->sparsity != y->sparsity)
        return x->sparsity < y->sparsity ? -1 : 1; /* densest first */
    return x->order - y->order;
}

double report_option(const char *options, const char *name)
{
    const size_t n = strlen(name);
    for (const char *p = options; p && *p;) {
        if (strncmp(p, name, n) == 0 && p[n] == '=')
            return strtod(p + n + 1, NULL);
        p = strchr(p, ';');
        if (p)
            p++;
    }
    return NAN;
}

/* the value text of option `key` (up to ';'), "" when absent */
static void option_text(const char *options, const char *key, char *out, size_t len)
{
    const size_t n = strlen(key);
    out[0] = '\0';
    for (const char *p = options; p && *p;) {
        if (strncmp(p, key, n) == 0 && p[n] == '=') {
            const char *value = p + n + 1;
            snprintf(out, len, "%.*s", (int)strcspn(value, ";"), value);
            return;
        }
        p = strchr(p, ';');
        if (p)
            p++;
    }
}

/* method[key=value;...] with the option keys whose values differ among the
 * method's groups of this model (epochs too, when those differ); no commas,
 * so that labels stand in CSV cells unquoted */
static void make_label(struct report_groups *gs, struct report_group *g)
{
    snprintf(g->label, sizeof g->label, "%s", g->method);
    size_t len = strlen(g->label);
    int opened = 0, epochs_vary = 0;
    char keys[512];
    snprintf(keys, sizeof keys, "%s", g->options);
    for (char *save = NULL, *kv = strtok_r(keys, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char mine[64], theirs[64];
        option_text(g->options, kv, mine, sizeof mine);
        int varies = 0;
        for (int i = 0; i < gs->count && !varies; i++) {
            const struct report_group *o = &gs->g[i];
            if (strcmp(o->model, g->model) != 0 || strcmp(o->method, g->method) != 0)
                continue;
            option_text(o->options, kv, theirs, sizeof theirs);
            varies = strcmp(mine, theirs) != 0;
        }
        if (varies && len + 1 < sizeof g->label) {
            len += (size_t)snprintf(g->label + len, sizeof g->label - len, "%s%s=%s",
                                    opened ? ";" : "[", kv, mine);
            opened = 1;
        }
    }
    for (int i = 0; i < gs->count; i++) {
        const struct report_group *o = &gs->g[i];
        if (strcmp(o->model, g->model) == 0 && strcmp(o->method, g->method) == 0 &&
            strcmp(o->options, g->options) == 0 && o->epochs != g->epochs)
            epochs_vary = 1;
    }
    if (epochs_vary && len + 1 < sizeof g->label)
        len += (size_t)snprintf(g->label + len, sizeof g->label - len, "%sepochs=%d",
                                opened ? ";" : "[", g->epochs),
            opened = 1;
    if (opened && len + 1 < sizeof g->label)
        snprintf(g->label + len, sizeof g->label - len, "]");
}

void report_group_runs(const struct report_experiment *e, struct report_groups *out)
{
    struct report_groups gs = {.g = calloc((size_t)e->count + 1, sizeof *gs.g)};
    int *group_of = malloc(((size_t)e->count + 1) * sizeof *group_of);
    for (int i = 0; i < e->count; i++) {
        const struct report_run *r = &e->runs[i];
        int k = 0;
        while (k < gs.count && !same_config(&gs.g[k], r))
            k++;
        if (k == gs.count)
            gs.g[gs.count++] = (struct report_group){
                .model = r->model, .data = r->data, .method = r->method, .options = r->options,
                .sparsity_text = r->sparsity_text, .sparsity = r->sparsity, .epochs = r->epochs};
        group_of[i] = k;
        gs.g[k].runs++;
        gs.g[k].n += r->complete;
    }
    double *acc = malloc(((size_t)e->count + 1) * 3 * sizeof *acc);
    double *best = acc + e->count + 1, *params = best + e->count + 1;
    for (int k = 0; k < gs.count; k++) {
        struct report_group *g = &gs.g[k];
        g->members = malloc(((size_t)g->n + 1) * sizeof *g->members);
        int m = 0, nb = 0, np = 0;
        for (int i = 0; i < e->count; i++) {
            const struct report_run *r = &e->runs[i];
            if (group_of[i] != k || !r->complete)
                continue;
            g->members[m] = i;
            acc[m++] = r->final_acc;
            if (!isnan(r->best_acc))
                best[nb++] = r->best_acc;
            if (!isnan(r->active_params))
                params[np++] = r->active_params;
        }
        g->acc = summarize(acc, m);
        g->best = summarize(best, nb);
        g->params = summarize(params, np);
    }
    free(acc);
    free(group_of);
    /* order: model, method, sparsity; then labels, which look at all groups */
    struct sort_key *keys = malloc(((size_t)gs.count + 1) * sizeof *keys);
    for (int k = 0; k < gs.count; k++)
        keys[k] = (struct sort_key){first_index(&gs, &gs.g[k], 0), first_index(&gs, &gs.g[k], 1),
                                    k, gs.g[k].sparsity};
    qsort(keys, (size_t)gs.count, sizeof *keys, by_key);
    out->g = calloc((size_t)gs.count + 1, sizeof *out->g);
    out->count = gs.count;
    for (int k = 0; k < gs.count; k++)
        out->g[k] = gs.g[keys[k].order];
    free(keys);
    free(gs.g);
    for (int k = 0; k < out->count; k++)
        make_label(out, &out->g[k]);
}

void report_groups_free(struct report_groups *gs)
{
    for (int k = 0; k < gs->count; k++)
        free(gs->g[k].members);
    free(gs->g);
    *gs = (struct report_groups){0};
}

const struct report_group *report_find_group(const struct report_groups *gs, const char *model,
                                             const char *data, const char *method,
                                             double sparsity, int epochs)
{
    for (int k = 0; k < gs->count; k++) {
        const struct report_group *g = &gs->g[k];
        if (strcmp(g->model, model) == 0 && strcmp(g->data, data) == 0 &&
            strcmp(g->method, method) == 0 && (sparsity < 0 || fabs(g->sparsity - sparsity) < 1e-9) &&
            (epochs == 0 || g->epochs == epochs))
            return g;
    }
    return NULL;
}
