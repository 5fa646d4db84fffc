/* --from DIR: the finished run a method or ablation starts from. Its
 * manifest says whether it is complete and what it trained; the checkpoints
 * it holds are read later by the method itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "run.h"

struct source_manifest {
    char status[32], model[64], method[64], data[64];
    char sparsity[32], seed[32];
};

static void take(void *ctx, const char *section, const char *name, const char *value)
{
    struct source_manifest *m = ctx;
    if (strcmp(section, "run") != 0)
        return;
    struct {
        const char *key;
        char *slot;
        size_t len;
    } const keys[] = {{"status", m->status, sizeof m->status},
                      {"model", m->model, sizeof m->model},
                      {"method", m->method, sizeof m->method},
                      {"data", m->data, sizeof m->data},
                      {"sparsity", m->sparsity, sizeof m->sparsity},
                      {"seed", m->seed, sizeof m->seed}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(name, keys[i].key) == 0)
            snprintf(keys[i].slot, keys[i].len, "%s", value);
}

int run_read_source(struct run *r)
{
    const struct train_options *o = r->o;
    const struct method *m = r->method;
    if (!o->from) {
        if (m->from != FROM_REQUIRED)
            return 0;
        fprintf(stderr, "dsrbench train: %s needs --from RUN_DIR: %s\n", m->name, m->from_help);
        return 2;
    }
    if (m->from == FROM_NONE) {
        fprintf(stderr, "dsrbench train: --from %s: method %s starts from no other run\n",
                o->from, m->name);
        return 2;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.ini", o->from);
    struct source_manifest s;
    memset(&s, 0, sizeof s);
    const int read = manifest_read(path, take, &s);
    if (read != 0 || strcmp(s.status, "complete") != 0) {
        if (read != 0)
            fprintf(stderr, "dsrbench train: --from %s: no run there (cannot read %s)\n", o->from,
                    path);
        else
            fprintf(stderr, "dsrbench train: --from %s: that run is not complete (%s says status "
                            "= %s); finish it first (dsrbench train --resume %s)\n",
                    o->from, path, s.status[0] ? s.status : "(none)", o->from);
        return 2;
    }
    char model[64];
    model_name(&r->spec, model, sizeof model);
    if (strcmp(s.model, model) != 0 || strcmp(s.data, o->data) != 0) {
        fprintf(stderr,
                "dsrbench train: --from %s trained %s on %s; this run trains %s on %s: expected "
                "the same model and data\n",
                o->from, s.model, s.data, model, o->data);
        return 2;
    }
    snprintf(r->source_method, sizeof r->source_method, "%s", s.method);
    r->source = (struct method_source){.dir = o->from, .method = r->source_method,
                                       .seed = strtoull(s.seed, NULL, 10),
                                       .sparsity = strtod(s.sparsity, NULL)};
    /* a retrained structure has the source's sparsity unless told otherwise */
    if (m->from == FROM_REQUIRED && o->sparsity < 0)
        r->sparsity_from_source = 1;
    return 0;
}
