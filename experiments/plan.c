#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "models.h"
#include "net_kernels.h"
#include "schedule.h"
#include "spec_keys.h"

/* one [PROFILE.GRID] section */
struct grid {
    const struct spec_file *f;
    const char *profile; /* the [PROFILE] section's name */
    const char *section; /* "PROFILE.GRID" */
    const char *name;    /* GRID */
    int line;
};

/* what expansion knows about a run beyond struct plan_run */
struct draft {
    const struct grid *grid;
    const struct spec_item *from; /* ENTRY.from, or NULL */
    int sparse;
    double sparsity;
};

struct builder {
    const struct spec_file *f;
    const struct spec_catalog *catalog;
    const struct plan_options *o;
    char *err;
    size_t err_len;
    const char *dir; /* <results>/<profile>/<experiment> */
    struct plan_run *runs;
    struct draft *drafts;
    int count, capacity;
};

static void *must(void *p)
{
    if (!p) {
        fprintf(stderr, "dsrbench: out of memory\n");
        exit(1);
    }
    return p;
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = must(malloc((size_t)n + 1));
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* [P.G] ENTRY.KEY, else [P.G] KEY, else [P] KEY (entry NULL: the last two) */
static const struct spec_item *lookup(const struct grid *g, const char *entry, const char *key)
{
    if (entry) {
        char k[256];
        snprintf(k, sizeof k, "%s.%s", entry, key);
        const struct spec_item *it = spec_find(g->f, g->section, k);
        if (it)
            return it;
    }
    const struct spec_item *it = spec_find(g->f, g->section, key);
    return it ? it : spec_find(g->f, g->profile, key);
}

static const struct spec_item *require(struct builder *b, const struct grid *g,
                                       const char *entry, const char *key)
{
    const struct spec_item *it = lookup(g, entry, key);
    if (!it)
        spec_error(b->err, b->err_len, b->f, g->line, key,
                   "missing in [%s] (set it there, or in [%s] for every grid)", g->section,
                   g->profile);
    return it;
}

/* a method or ablation of one grid, resolved for one model */
struct entry {
    const struct grid *grid;
    const char *name;
    const struct method *method; /* NULL for an ablation */
    const char *model, *data;
    struct spec_list sparsities, seeds;
    int n_options;
    const struct spec_item *option_items[METHOD_MAX_OPTIONS];
    struct spec_list option_values[METHOD_MAX_OPTIONS];
    const struct spec_item *from;
    int epochs, threads;
};

static void entry_free(struct entry *e)
{
    spec_list_free(&e->sparsities);
    spec_list_free(&e->seeds);
    for (int i = 0; i < e->n_options; i++)
        spec_list_free(&e->option_values[i]);
}

/* ENTRY.option.NAME items of the grid, checked against the method's table */
static int entry_options(struct builder *b, struct entry *e)
{
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s.option.", e->name);
    for (int i = 0; i < b->f->count; i++) {
        const struct spec_item *it = &b->f->items[i];
        if (strcmp(it->section, e->grid->section) != 0 ||
            strncmp(it->key, prefix, strlen(prefix)) != 0)
            continue;
        const char *name = it->key + strlen(prefix);
        if (!e->method)
            return spec_error(b->err, b->err_len, b->f, it->line, it->key,
                              "%s is an ablation; options belong to methods", e->name);
        const struct method_option *opt = NULL;
        for (int j = 0; j < e->method->n_options; j++)
            if (strcmp(e->method->options[j].name, name) == 0)
                opt = &e->method->options[j];
        if (!opt) {
            char known[512] = "";
            for (int j = 0; j < e->method->n_options; j++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                         j ? " " : "", e->method->options[j].name);
            return spec_error(b->err, b->err_len, b->f, it->line, it->key,
                              "method %s has no option '%s' (%s%s)", e->name, name,
                              e->method->n_options ? "its options: " : "it takes none", known);
        }
        struct spec_list *values = &e->option_values[e->n_options];
        spec_list_split(it->value, values);
        e->option_items[e->n_options++] = it;
        for (int v = 0; v < values->count; v++) {
            const double x = spec_number(values->items[v]);
            if (x < opt->min || x > opt->max)
                return spec_error(b->err, b->err_len, b->f, it->line, it->key,
                                  "'%s': expected a value from %g to %g", values->items[v],
                                  opt->min, opt->max);
        }
    }
    return 0;
}

static int check_schedule(struct builder *b, const struct entry *e)
{
    const struct spec_item *sched = lookup(e->grid, e->name, "lr_schedule");
    const struct spec_item *lr = lookup(e->grid, e->name, "lr");
    if (lr && sched && !lr_schedule_is_preset(sched->value))
        return spec_error(b->err, b->err_len, b->f, lr->line, lr->key,
                          "lr scales a preset schedule; lr_schedule '%s' (line %d) already "
                          "gives every rate",
                          sched->value, sched->line);
    char why[256];
    struct lr_schedule s;
    if (sched && lr_schedule_parse(sched->value, 0.1, e->epochs, &s, why, sizeof why) != 0)
        return spec_error(b->err, b->err_len, b->f, sched->line, sched->key, "%s", why);
    const struct spec_item *augment = lookup(e->grid, e->name, "augment");
    static const char *const augments[] = {"default", "none", "flip", "crop", "crop-flip"};
    int known = !augment;
    for (size_t i = 0; augment && i < sizeof augments / sizeof augments[0]; i++)
        known |= strcmp(augment->value, augments[i]) == 0;
    if (!known)
        return spec_error(b->err, b->err_len, b->f, augment->line, augment->key,
                          "'%s': expected default, none, flip, crop or crop-flip",
                          augment->value);
    const struct spec_item *kernels = lookup(e->grid, e->name, "kernels");
    enum net_kernels k;
    if (kernels && net_kernels_parse(kernels->value, &k) != 0)
        return spec_error(b->err, b->err_len, b->f, kernels->line, kernels->key,
                          "'%s': expected dense, sparse or auto", kernels->value);
    return 0;
}

static int entry_resolve(struct builder *b, struct entry *e)
{
    const struct grid *g = e->grid;
    const int sparse = !e->method || e->method->sparse;
    char k[160];
    snprintf(k, sizeof k, "%s.sparsities", e->name);
    const struct spec_item *own = spec_find(b->f, g->section, k);
    if (!sparse && own)
        return spec_error(b->err, b->err_len, b->f, own->line, own->key,
                          "method %s takes no sparsity", e->name);
    const struct spec_item *sp = NULL, *seeds, *epochs;
    if ((sparse && !(sp = require(b, g, e->name, "sparsities"))) ||
        !(seeds = require(b, g, e->name, "seeds")) || !(epochs = require(b, g, e->name, "epochs")))
        return -1;
    spec_list_split(sp ? sp->value : "", &e->sparsities);
    spec_list_split(seeds->value, &e->seeds);
    e->epochs = (int)spec_int(epochs);
    const struct spec_item *threads = lookup(g, e->name, "threads");
    e->threads = b->o->threads > 0 ? b->o->threads : threads ? (int)spec_int(threads) : 1;
    snprintf(k, sizeof k, "%s.from", e->name);
    e->from = spec_find(b->f, g->section, k);
    if (entry_options(b, e) != 0)
        return -1;
    return check_schedule(b, e);
}

static void add_run(struct builder *b, const struct entry *e, const char *sparsity,
                    const int *choice, const char *seed)
{
    if (b->count == b->capacity) {
        b->capacity = b->capacity ? 2 * b->capacity : 64;
        b->runs = must(realloc(b->runs, sizeof *b->runs * (size_t)b->capacity));
        b->drafts = must(realloc(b->drafts, sizeof *b->drafts * (size_t)b->capacity));
    }
    char options[512] = "", id_options[512] = "";
    for (int i = 0; i < e->n_options; i++) {
        const char *name = strrchr(e->option_items[i]->key, '.') + 1;
        const char *value = e->option_values[i].items[choice[i]];
        snprintf(options + strlen(options), sizeof options - strlen(options), "%s%s=%s",
                 i ? ";" : "", name, value);
        snprintf(id_options + strlen(id_options), sizeof id_options - strlen(id_options),
                 "_%s%s", name, value);
    }
    struct plan_run *r = &b->runs[b->count];
    *r = (struct plan_run){.grid = format("%s", e->grid->name), .entry = format("%s", e->name),
                           .ablation = !e->method, .model = format("%s", e->model),
                           .data = format("%s", e->data), .epochs = e->epochs,
                           .options = format("%s", options), .threads = e->threads,
                           .source = -1};
    r->seed = strtoull(seed, NULL, 10);
    if (sparsity)
        snprintf(r->sparsity, sizeof r->sparsity, "%.10g", spec_number(sparsity));
    r->id = format("%s_%s%s%s%s_seed%llu", e->model, e->name, sparsity ? "_s" : "", r->sparsity,
                   id_options, r->seed);
    r->dir = format("%s/%s", b->dir, r->id);
    b->drafts[b->count++] = (struct draft){.grid = e->grid, .from = e->from,
                                           .sparse = sparsity != NULL,
                                           .sparsity = sparsity ? spec_number(sparsity) : 0};
}

/* every sparsity x option combination x seed of one resolved entry */
static void entry_expand(struct builder *b, const struct entry *e)
{
    const int n_sparsities = e->sparsities.count ? e->sparsities.count : 1;
    for (int s = 0; s < n_sparsities; s++) {
        int choice[METHOD_MAX_OPTIONS] = {0};
        for (;;) {
            for (int seed = 0; seed < e->seeds.count; seed++)
                add_run(b, e, e->sparsities.count ? e->sparsities.items[s] : NULL, choice,
                        e->seeds.items[seed]);
            int i = e->n_options - 1; /* the next combination, last option fastest */
            while (i >= 0 && ++choice[i] == e->option_values[i].count)
                choice[i--] = 0;
            if (i < 0)
                break;
        }
    }
}

static int check_name(struct builder *b, const struct spec_item *list, const char *name,
                      int ablation, const struct method **method)
{
    const struct spec_catalog *c = b->catalog;
    *method = ablation ? NULL : c->method(name);
    if (ablation ? c->ablation(name) : *method != NULL)
        return 0;
    const char *known = ablation ? c->ablations_known : c->methods_known;
    return spec_error(b->err, b->err_len, b->f, list->line, list->key,
                      "unknown %s '%s' (known: %s)", ablation ? "ablation" : "method", name,
                      known && *known ? known : "none yet");
}

/* every ENTRY.KEY of the grid names one of its methods or ablations */
static int check_entry_keys(struct builder *b, const struct grid *g, char **names, int n)
{
    for (int i = 0; i < b->f->count; i++) {
        const struct spec_item *it = &b->f->items[i];
        const char *dot = strchr(it->key, '.');
        if (strcmp(it->section, g->section) != 0 || !dot)
            continue;
        int found = 0;
        for (int j = 0; j < n && !found; j++)
            found = strlen(names[j]) == (size_t)(dot - it->key) &&
                    strncmp(names[j], it->key, (size_t)(dot - it->key)) == 0;
        if (!found)
            return spec_error(b->err, b->err_len, b->f, it->line, it->key,
                              "'%.*s' is not among the methods or ablations of [%s]",
                              (int)(dot - it->key), it->key, g->section);
    }
    return 0;
}

/* ENTRY.from names another entry, and following from never comes back */
static int check_sources(struct builder *b, const struct grid *g, char **names, int n)
{
    for (int i = 0; i < n; i++) {
        const char *at = names[i];
        char chain[512];
        snprintf(chain, sizeof chain, "%s", names[i]);
        for (int step = 0; step <= n; step++) {
            char k[160];
            snprintf(k, sizeof k, "%s.from", at);
            const struct spec_item *from = spec_find(b->f, g->section, k);
            if (!from)
                break;
            int known = 0;
            for (int j = 0; j < n; j++)
                known |= strcmp(names[j], from->value) == 0;
            if (!known)
                return spec_error(b->err, b->err_len, b->f, from->line, from->key,
                                  "'%s' is not among the methods or ablations of [%s], so no "
                                  "run can be its source",
                                  from->value, g->section);
            snprintf(chain + strlen(chain), sizeof chain - strlen(chain), " reads %s",
                     from->value);
            if (strcmp(from->value, names[i]) == 0)
                return spec_error(b->err, b->err_len, b->f, from->line, from->key,
                                  "runs cannot read each other in a cycle: %s", chain);
            at = from->value;
        }
    }
    return 0;
}

static int expand_grid(struct builder *b, const struct grid *g)
{
    const struct spec_item *models = require(b, g, NULL, "models");
    const struct spec_item *data = require(b, g, NULL, "data");
    if (!models || !data)
        return -1;
    enum data_kind kind;
    if (data_kind_parse(data->value, &kind) != 0)
        return spec_error(b->err, b->err_len, b->f, data->line, data->key,
                          "'%s': expected fashion-mnist, mnist, cifar10 or imagenet-shards",
                          data->value);
    const struct spec_item *lists[2] = {lookup(g, NULL, "methods"), lookup(g, NULL, "ablations")};
    struct spec_list names[2] = {{0}, {0}}, model_names;
    char *all[2 * SPEC_LIST_MAX];
    const struct method *methods[2 * SPEC_LIST_MAX];
    int n = 0, rc = 0;
    for (int k = 0; k < 2; k++) {
        spec_list_split(lists[k] ? lists[k]->value : "", &names[k]);
        for (int i = 0; i < names[k].count && rc == 0; i++) {
            for (int j = 0; j < n && rc == 0; j++)
                if (strcmp(all[j], names[k].items[i]) == 0)
                    rc = spec_error(b->err, b->err_len, b->f, lists[k]->line, lists[k]->key,
                                    "'%s' is a method and an ablation", all[j]);
            if (rc == 0)
                rc = check_name(b, lists[k], names[k].items[i], k, &methods[n]);
            all[n++] = names[k].items[i];
        }
    }
    if (rc == 0 && n == 0)
        rc = spec_error(b->err, b->err_len, b->f, g->line, "methods",
                        "[%s] has no methods or ablations", g->section);
    if (rc == 0)
        rc = check_entry_keys(b, g, all, n);
    if (rc == 0)
        rc = check_sources(b, g, all, n);
    spec_list_split(models->value, &model_names);
    for (int m = 0; m < model_names.count && rc == 0; m++) {
        struct model_spec spec;
        char why[256];
        if (model_parse(model_names.items[m], &spec, why, sizeof why) != 0) {
            rc = spec_error(b->err, b->err_len, b->f, models->line, models->key, "%s", why);
            break;
        }
        for (int i = 0; i < n && rc == 0; i++) {
            struct entry e = {.grid = g, .name = all[i], .method = methods[i],
                              .model = model_names.items[m], .data = data->value};
            rc = entry_resolve(b, &e);
            if (rc == 0)
                entry_expand(b, &e);
            entry_free(&e);
        }
    }
    spec_list_free(&model_names);
    spec_list_free(&names[0]);
    spec_list_free(&names[1]);
    return rc;
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
    int *order = must(malloc(sizeof *order * (size_t)(b->count ? b->count : 1)));
    char *placed = must(calloc((size_t)(b->count ? b->count : 1), 1));
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
    *argv = must(realloc(*argv, sizeof **argv * (size_t)(*argc + 2)));
    (*argv)[(*argc)++] = arg;
    (*argv)[*argc] = NULL;
}

static void build_command(const struct builder *b, struct plan_run *r, const struct draft *d,
                          const struct plan_run *source)
{
    char **argv = NULL;
    int argc = 0;
    push(&argv, &argc, format("%s", b->o->program));
    push(&argv, &argc, format("train"));
    push(&argv, &argc, format("--model"));
    push(&argv, &argc, format("%s", r->model));
    push(&argv, &argc, format("--data"));
    push(&argv, &argc, format("%s", r->data));
    push(&argv, &argc, format(r->ablation ? "--ablation" : "--method"));
    push(&argv, &argc, format("%s", r->entry));
    if (r->sparsity[0] && !r->ablation) {
        push(&argv, &argc, format("--sparsity"));
        push(&argv, &argc, format("%s", r->sparsity));
    }
    for (const char *o = r->options; *o;) {
        const size_t len = strcspn(o, ";");
        push(&argv, &argc, format("--method-option"));
        push(&argv, &argc, format("%.*s", (int)len, o));
        o += len + (o[len] == ';');
    }
    push(&argv, &argc, format("--seed"));
    push(&argv, &argc, format("%llu", r->seed));
    for (int k = 0; k < spec_key_count; k++) {
        const struct spec_item *it = spec_keys[k].flag
                                         ? lookup(d->grid, r->entry, spec_keys[k].name)
                                         : NULL;
        if (it) {
            push(&argv, &argc, format("%s", spec_keys[k].flag));
            push(&argv, &argc, format("%s", it->value));
        }
    }
    if (source) {
        push(&argv, &argc, format("--from"));
        push(&argv, &argc, format("%s", source->dir));
    }
    push(&argv, &argc, format("--threads"));
    push(&argv, &argc, format("%d", r->threads));
    push(&argv, &argc, format("--out"));
    push(&argv, &argc, format("%s", r->dir));
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
        return format("%s", it->value);
    const char *base = strrchr(f->path, '/');
    base = base ? base + 1 : f->path;
    const size_t len = strcspn(base, ".");
    if (!spec_is_name(base, len, 0)) {
        spec_error(err, err_len, f, 0, NULL,
                   "cannot name the experiment after the file: set name in [experiment]");
        return NULL;
    }
    return format("%.*s", (int)len, base);
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
        if (expand_grid(b, &grids[g]) != 0)
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
    int *position = must(malloc(sizeof *position * (size_t)(b->count ? b->count : 1)));
    for (int k = 0; k < b->count; k++)
        position[order[k]] = k;
    out->runs = must(calloc((size_t)(b->count ? b->count : 1), sizeof *out->runs));
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
    out->profile = format("%s", o->profile);
    out->dir = format("%s/%s/%s", o->results, o->profile, out->experiment);
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
