/* Expanding one [PROFILE.GRID] section into runs: its methods and ablations
 * checked against the catalog, each entry's keys resolved (ENTRY.KEY, grid,
 * profile), and every model x entry x sparsity x option value x seed added to
 * the builder with its id and folder. plan.c orders the runs, links readers
 * to their sources and writes the commands. */
#include "plan_grid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "models.h"
#include "net_kernels.h"
#include "schedule.h"
#include "spec_keys.h"

const struct spec_item *plan_lookup(const struct grid *g, const char *entry, const char *key)
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
    const struct spec_item *it = plan_lookup(g, entry, key);
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
    const struct spec_item *sched = plan_lookup(e->grid, e->name, "lr_schedule");
    const struct spec_item *lr = plan_lookup(e->grid, e->name, "lr");
    if (lr && sched && !lr_schedule_is_preset(sched->value))
        return spec_error(b->err, b->err_len, b->f, lr->line, lr->key,
                          "lr scales a preset schedule; lr_schedule '%s' (line %d) already "
                          "gives every rate",
                          sched->value, sched->line);
    char why[256];
    struct lr_schedule s;
    if (sched && lr_schedule_parse(sched->value, 0.1, e->epochs, &s, why, sizeof why) != 0)
        return spec_error(b->err, b->err_len, b->f, sched->line, sched->key, "%s", why);
    const struct spec_item *augment = plan_lookup(e->grid, e->name, "augment");
    static const char *const augments[] = {"default", "none", "flip", "crop", "crop-flip"};
    int known = !augment;
    for (size_t i = 0; augment && i < sizeof augments / sizeof augments[0]; i++)
        known |= strcmp(augment->value, augments[i]) == 0;
    if (!known)
        return spec_error(b->err, b->err_len, b->f, augment->line, augment->key,
                          "'%s': expected default, none, flip, crop or crop-flip",
                          augment->value);
    const struct spec_item *kernels = plan_lookup(e->grid, e->name, "kernels");
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
    const struct spec_item *threads = plan_lookup(g, e->name, "threads");
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
        b->runs = plan_must(realloc(b->runs, sizeof *b->runs * (size_t)b->capacity));
        b->drafts = plan_must(realloc(b->drafts, sizeof *b->drafts * (size_t)b->capacity));
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
    *r = (struct plan_run){.grid = plan_format("%s", e->grid->name),
                           .entry = plan_format("%s", e->name), .ablation = !e->method,
                           .model = plan_format("%s", e->model),
                           .data = plan_format("%s", e->data), .epochs = e->epochs,
                           .options = plan_format("%s", options), .threads = e->threads,
                           .source = -1};
    r->seed = strtoull(seed, NULL, 10);
    if (sparsity)
        snprintf(r->sparsity, sizeof r->sparsity, "%.10g", spec_number(sparsity));
    r->id = plan_format("%s_%s%s%s%s_seed%llu", e->model, e->name, sparsity ? "_s" : "",
                        r->sparsity, id_options, r->seed);
    r->dir = plan_format("%s/%s", b->dir, r->id);
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

int plan_expand_grid(struct builder *b, const struct grid *g)
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
    const struct spec_item *lists[2] = {plan_lookup(g, NULL, "methods"),
                                        plan_lookup(g, NULL, "ablations")};
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
