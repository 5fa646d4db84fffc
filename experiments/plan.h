/* An experiment spec's profile expanded into runs: every grid's cross
 * product of models x methods/ablations x sparsities x method-option values
 * x seeds, each run with its folder and its exact `dsrbench train` command,
 * ordered so that every run comes after the run it reads (`E.from`).
 *
 * Spec schema (README.md "Running experiments" has the full table):
 *   [experiment]  name, description
 *   [P]           keys shared by every grid of profile P
 *   [P.G]         grid G of profile P: models, data, methods, ablations,
 *                 sparsities, seeds, epochs, ... and per-entry overrides
 *                 E.KEY (E a method or ablation of the grid), E.option.NAME
 *                 (method options; a list makes one run per value) and
 *                 E.from = F (E's run reads the F run of the same model,
 *                 seed and sparsity: `--from F's folder`).
 * A key's value for a run: [P.G] E.KEY, else [P.G] KEY, else [P] KEY. */
#ifndef DSRBENCH_PLAN_H
#define DSRBENCH_PLAN_H
#include <stddef.h>

#include "method.h"
#include "spec.h"

/* What method and ablation names mean: the runner passes the registry, the
 * tests a list of their own. */
struct spec_catalog {
    const struct method *(*method)(const char *name); /* NULL when unknown */
    int (*ablation)(const char *name);                 /* nonzero when known */
    const char *methods_known, *ablations_known;       /* for messages */
};
/* methods/registry.c: its methods and ablations */
void catalog_registry(struct spec_catalog *c);

struct plan_run {
    char *id;            /* the folder name: MODEL_ENTRY[_sS][_OPTVALUE...]_seedN */
    char *dir;           /* <results>/<profile>/<experiment>/<id> */
    char *grid;          /* the grid's name */
    char *entry;         /* method or ablation name */
    int ablation;        /* runs with --ablation instead of --method */
    char *model, *data;
    char sparsity[32];   /* "" for methods without a sparsity */
    unsigned long long seed;
    int epochs;
    char *options;       /* "np=2000;stop_epoch=4", "" when none */
    int threads;
    int source;          /* index in plan.runs of the run this one reads, else -1 */
    char **argv;         /* the train command, NULL-terminated */
    int argc;
};

struct plan {
    char *experiment, *profile, *dir;
    struct plan_run *runs; /* every source before its readers */
    int count;
};

struct plan_options {
    const char *profile;
    const char *results; /* root folder of <profile>/<experiment>/ */
    const char *program; /* argv[0] of the train commands */
    int threads;         /* > 0: replaces the spec's threads */
};

/* Checks every key of every profile (known key, well-formed value) and
 * expands o->profile, checking names, options and sources against catalog.
 * 0, or -1 with "PATH:LINE: KEY: message" in err. */
int plan_build(const struct spec_file *spec, const struct spec_catalog *catalog,
               const struct plan_options *o, struct plan *out, char *err, size_t err_len);
void plan_free(struct plan *p);

#endif
