/* A method run set up the way a training run sets one up, without data or a
 * trainer: option defaults and NAME=VALUE overrides, the --sparsity checks,
 * configure, the model build, weights from the seed's weight stream,
 * PAPER.md's initial mask from its mask stream (sparse methods), init. Used
 * by `dsrbench train` and `dsrbench info`; one place for what a run needs
 * before its first step. */
#ifndef DSRBENCH_METHOD_SETUP_H
#define DSRBENCH_METHOD_SETUP_H
#include <stddef.h>
#include <stdint.h>

#include "method.h"

struct method_setup_config {
    const struct method *method;
    double sparsity;                   /* < 0: not given (0.9 for sparse methods) */
    const char *const *options;        /* "name=value" for the method's option table */
    int n_options;
    uint64_t seed;
    int in_c, in_h, in_w, classes;     /* the data's shape */
    int epochs;                        /* of the run (0 for info: none) */
    double width_factor;               /* > 0: --width-factor, the method's width_factor option */
    const struct method_source *source; /* --from; NULL when not given */
    char *model_name;                  /* receives the built model's name (64 bytes); may be NULL */
    const char *command;               /* names the command in messages ("dsrbench info") */
};

/* Fills run and builds run->net from spec (which configure may change).
 * Returns 0, 2 when the configuration is refused (a bad option or
 * sparsity, message on stderr) or 1 when configure, the build or init
 * failed; in every case method_run_teardown frees what was made. */
int method_run_setup(struct method_run *run, struct model_spec *spec,
                     const struct method_setup_config *cfg);
void method_run_teardown(struct method_run *run);

/* "name=value" against the method's option table and range; -1 with a message */
int method_option_set(struct method_run *run, const char *text, const char *command);
/* learnable parameters: the method's own count (hashednet's banks), else
 * every parameter but the masked-out positions */
size_t method_run_learnable(const struct method_run *run);

#endif
