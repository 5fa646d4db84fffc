/* plan_build: the profile's grids expanded into runs (plan_grid.c), each
 * reader linked to its source run, the runs ordered (seeds ascending, every
 * source before its readers) and their train commands written. */
#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_grid.h"
#include "spec_keys.h"

void *plan_must(void *p)
{
    if (!p) {
        fprintf(stderr, "dsrbench: out of memory\n");
        exit(1);
    }
    return p;
}

char *plan_format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = plan_must(malloc((size_t)n + 1));
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* the one run of the source entry with the same model, seed and (when the
 * source has one) sparsity */
static int find_source(struct builder *b, int reader)
{
    const struct plan_run *r = &b->runs[reader];
    const struct draft *d = &b->drafts[reader];
    int found = -1, matches = 0;
    for (int i = 0; i < b->count; i++) {
        const struct plan_run *s = &b->runs[i];
        if (b->drafts[i].grid != d->grid || strcmp(s->entry, d->from->value) != 0 ||
            strcmp(s->model, r->model) != 0 || s->seed != r->seed ||
            (b->drafts[i].sparse && (!d->sparse || b->drafts[i].sparsity != d->sparsity)))
            continue;
        found = i;
        matches++;
    }
    char what[128];
    snprintf(what, sizeof what, "model %s, seed %llu%s%s", r->model, r->seed,
             d->sparse ? " and sparsity " : "", r->sparsity);
    if (matches == 0)
        return spec_error(b->err, b->err_len, b->f, d->from->line, d->from->key,
                          "%s has no run with %s for %s to read", d->from->value, what, r->id);
    if (matches > 1)
        return spec_error(b->err, b->err_len, b->f, d->from->line, d->from->key,
                          "%s has %d runs with %s (one per option value); %s can read only one",
                          d->from->value, matches, what, r->id);
    b->runs[reader].source = found;
    return 0;
}

/* seeds in ascending order (all methods of seed 1 first, so a stopped grid
 * has every method at least once), expansion order within a seed, and every
 * source before its readers */
static int *run_order(const struct builder *b)
{
    int *order = plan_must(malloc(sizeof *order * (size_t)(b->count ? b->count : 1)));
    char *placed = plan_must(calloc((size_t)(b->count ? b->count : 1), 1));
    for (int k = 0; k < b->count; k++) {
        int best = -1;
        for (int i = 0; i < b->count; i++) {
            const int src = b->runs[i].source;
            if (placed[i] || (src >= 0 && !placed[src]))
                continue;
            if (best < 0 || b->runs[i].seed < b->runs[best].seed)
                best = i;
        }
        placed[best] = 1; /* a source cycle is refused earlier, so best exists */
        order[k] = best;
    }
    free(placed);
    return order;
}

static void push(char ***argv, int *argc, char *arg)
{
    *argv = plan_must(realloc(*argv, sizeof **argv * (size_t)(*argc + 2)));
    (*argv)[(*argc)++] = arg;
    (*argv)[*argc] = NULL;
}

static void build_command(const struct builder *b, struct plan_run *r, const struct draft *d,
                          const struct plan_run *source)
{
    char **argv = NULL;
    int argc = 0;
    push(&argv, &argc, plan_format("%s", b->o->program));
    push(&argv, &argc, plan_format("train"));
    push(&argv, &argc, plan_format("--model"));
    push(&argv, &argc, plan_format("%s", r->model));
    push(&argv, &argc, plan_format("--data"));
    push(&argv, &argc, plan_format("%s", r->data));
    push(&argv, &argc, plan_format(r->ablation ? "--ablation" : "--method"));
    push(&argv, &argc, plan_format("%s", r->entry));
    if (r->sparsity[0] && !r->ablation) {
        push(&argv, &argc, plan_format("--sparsity"));
        push(&argv, &argc, plan_format("%s", r->sparsity));
    }
    for (const char *o = r->options; *o;) {
        const size_t len = strcspn(o, ";");
        push(&argv, &argc, plan_format("--method-option"));
        push(&argv, &argc, plan_format("%.*s", (int)len, o));
        o += len + (o[len] == ';');
    }
    push(&argv, &argc, plan_format("--seed"));
    push(&argv, &argc, plan_format("%llu", r->seed));
    for (int k = 0; k < spec_key_count; k++) {
        const struct spec_item *it = spec_keys[k].flag
                                         ? plan_lookup(d->grid, r->entry, spec_keys[k].name)
                                         : NULL;
        if (it) {
            push(&argv, &argc, plan_format("%s", spec_keys[k].flag));
            push(&argv, &argc, plan_format("%s", it->value));
        }
    }
    if (source) {
        push(&argv, &argc, plan_format("--from"));
        push(&argv, &argc, plan_format("%s", source->dir));
    }
    push(&argv, &argc, plan_format("--threads"));
    push(&argv, &argc, plan_format("%d", r->threads));
    push(&argv, &argc, plan_format("--out"));
    push(&argv, &argc, plan_format("%s", r->dir));
    r->argv = argv;
    r->argc = argc;
}

static void run_free(struct plan_run *r)
{
    free(r->id);
    free(r->dir);
    free(r->grid);
    free(r->entry);
    free(r->model);
    free(r->data);
    free(r->options);
    for (int i = 0; i < r->argc; i++)
        free(r->argv[i]);
    free(r->argv);
}

/* the profiles the spec names, for messages */
static void list_profiles(const struct spec_file *f, char *out, size_t len)
{
    out[0] = '\0';
    for (int i = 0; i < f->n_sections; i++) {
        const char *name = f->sections[i].name;
        const size_t plen = strcspn(name, ".");
        if (strcmp(name, "experiment") == 0)
            continue;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = strncmp(f->sections[j].name, name, plen) == 0 &&
                   strcspn(f->sections[j].name, ".") == plen;
        if (!seen)
            snprintf(out + strlen(out), len - strlen(out), "%s%.*s", out[0] ? " " : "",
                     (int)plen, name);
    }
}

static char *experiment_name(const struct spec_file *f, char *err, size_t err_len)
{
    const struct spec_item *it = spec_find(f, "experiment", "name");
    if (it)
        return plan_format("%s", it->value);
    const char *base = strrchr(f->path, '/');
    base = base ? base + 1 : f->path;
    const size_t len = strcspn(base, ".");
    if (!spec_is_name(base, len, 0)) {
        spec_error(err, err_len, f, 0, NULL,
                   "cannot name the experiment after the file: set name in [experiment]");
        return NULL;
    }
    return plan_format("%.*s", (int)len, base);
}

static int build(struct builder *b, struct plan *out)
{
    const char *profile = b->o->profile;
    enum { MAX_GRIDS = 256 };
    struct grid grids[MAX_GRIDS];
    int n_grids = 0;
    const size_t plen = strlen(profile);
    for (int i = 0; i < b->f->n_sections; i++) {
        const struct spec_section *s = &b->f->sections[i];
        if (strncmp(s->name, profile, plen) != 0 || s->name[plen] != '.')
            continue;
        if (n_grids == MAX_GRIDS)
            return spec_error(b->err, b->err_len, b->f, s->line, NULL,
                              "[%s]: more than %d grids in profile %s", s->name, MAX_GRIDS,
                              profile);
        grids[n_grids++] = (struct grid){b->f, profile, s->name, s->name + plen + 1, s->line};
    }
    if (n_grids == 0) {
        char known[512];
        list_profiles(b->f, known, sizeof known);
        return spec_error(b->err, b->err_len, b->f, spec_section_line(b->f, profile), NULL,
                          "profile '%s' has no grids (sections [%s.NAME]); profiles here: %s",
                          profile, profile, known[0] ? known : "none");
    }
    for (int g = 0; g < n_grids; g++)
        if (plan_expand_grid(b, &grids[g]) != 0)
            return -1;
    for (int i = 0; i < b->count; i++)
        if (b->drafts[i].from && find_source(b, i) != 0)
            return -1;
    for (int i = 0; i < b->count; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(b->runs[i].id, b->runs[j].id) == 0)
                return spec_error(b->err, b->err_len, b->f, b->drafts[i].grid->line, NULL,
                                  "[%s] repeats run %s of [%s]; grids of one experiment need "
                                  "different models, methods, sparsities, options or seeds",
                                  b->drafts[i].grid->section, b->runs[i].id,
                                  b->drafts[j].grid->section);
    /* reorder, then write the commands (a reader's command names its source's folder) */
    int *order = run_order(b);
    int *position = plan_must(malloc(sizeof *position * (size_t)(b->count ? b->count : 1)));
    for (int k = 0; k < b->count; k++)
        position[order[k]] = k;
    out->runs = plan_must(calloc((size_t)(b->count ? b->count : 1), sizeof *out->runs));
    for (int k = 0; k < b->count; k++) {
        struct plan_run *r = &out->runs[k];
        *r = b->runs[order[k]];
        if (r->source >= 0)
            r->source = position[r->source];
        build_command(b, r, &b->drafts[order[k]], r->source >= 0 ? &out->runs[r->source] : NULL);
    }
    out->count = b->count;
    b->count = 0; /* the strings moved to out */
    free(order);
    free(position);
    return 0;
}

int plan_build(const struct spec_file *spec, const struct spec_catalog *catalog,
               const struct plan_options *o, struct plan *out, char *err, size_t err_len)
{
    *out = (struct plan){0};
    if (spec_check(spec, err, err_len) != 0)
        return -1;
    out->experiment = experiment_name(spec, err, err_len);
    if (!out->experiment)
        return -1;
    out->profile = plan_format("%s", o->profile);
    out->dir = plan_format("%s/%s/%s", o->results, o->profile, out->experiment);
    struct builder b = {.f = spec, .catalog = catalog, .o = o, .err = err, .err_len = err_len,
                        .dir = out->dir};
    const int rc = build(&b, out);
    for (int i = 0; i < b.count; i++)
        run_free(&b.runs[i]);
    free(b.runs);
    free(b.drafts);
    if (rc != 0)
        plan_free(out);
    return rc;
}

void plan_free(struct plan *p)
{
    for (int i = 0; i < p->count; i++)
        run_free(&p->runs[i]);
    free(p->runs);
    free(p->experiment);
    free(p->profile);
    free(p->dir);
    *p = (struct plan){0};
}

static char methods_known[1024];

static char ablations_known[512];

static int is_ablation(const char *name)
{
    return ablation_find(name) != NULL;
}

/* the registries' names, space-separated, for messages */
static void list_names(const struct method *const *registry, char *out, size_t len)
{
    out[0] = '\0';
    for (int i = 0; registry[i]; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", registry[i]->name);
}

/* Ablations run with --ablation and take no options; frozen-after-N-epochs,
 * which has DSR's options, can also be listed as a method (train accepts
 * every ablation name as --method). */
void catalog_registry(struct spec_catalog *c)
{
    list_names(method_registry, methods_known, sizeof methods_known);
    list_names(ablation_registry, ablations_known, sizeof ablations_known);
    *c = (struct spec_catalog){.method = method_find, .ablation = is_ablation,
                               .methods_known = methods_known,
                               .ablations_known = ablations_known};
}
