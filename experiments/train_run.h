/* One training run from resolved options to a results folder:
 *   <out>/manifest.ini   resolved configuration, build and machine facts, status
 *   <out>/epochs.csv     one row per epoch (columns in README.md)
 *   <out>/layers.csv     sparse methods: active count of every sparse tensor per epoch
 *   <out>/initial.ckpt   the state before the first step
 *   <out>/last.ckpt      the newest end-of-epoch state, to resume from
 *   <out>/final.ckpt     the state after the last epoch
 * Used by `dsrbench train` and by the experiment runner. */
#ifndef DSRBENCH_TRAIN_RUN_H
#define DSRBENCH_TRAIN_RUN_H
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "net.h"

struct train_options {
    const char *model;
    const char *method;      /* a method or ablation from methods/registry.c */
    const char *from;        /* a finished run the method starts from; NULL: none */
    double width_factor;     /* > 0: the thin-dense width; 0: solved */
    double sparsity;         /* < 0: 0.9 for sparse methods; dense methods take none */
    const char *const *method_options; /* "name=value" strings for the method's table */
    int n_method_options;
    const char *data;
    const char *data_dir;    /* NULL: DSRBENCH_DATA or the data set's default */
    int epochs;
    int batch;
    int eval_batch;
    const char *lr_schedule; /* preset or custom list */
    double lr;               /* base rate a preset is scaled to; 0: the model's default */
    double momentum;
    int nesterov;
    double weight_decay;
    uint64_t seed;
    int threads;
    enum net_kernels kernels; /* masked layers: dense, sparse or auto (per layer by density) */
    int train_subset;        /* 0: all */
    int test_subset;
    const char *augment;     /* default, none, flip, crop, crop-flip */
    int crop_pad;            /* 0: the data set's default */
    const char *out;         /* NULL: results/runs/<model>_<data>_<method>_seed<seed> */
    const char *command;     /* the command line, for the manifest */
    int save_initial;        /* write initial.ckpt */
    int save_final;          /* write final.ckpt */
    int checkpoint_every;    /* last.ckpt after every N-th epoch and the last one; 0: never */
    const char *options_text; /* the options as flags_save wrote them; kept in checkpoints */
    const struct checkpoint *resume; /* continue the run in `out` from this; NULL: a new run */
};

void train_options_defaults(struct train_options *o);
/* returns the process exit status: 0 done, 1 failed, 2 bad options */
int train_run(const struct train_options *o);

/* The checkpoint --resume continues from: <dir>/last.ckpt, else
 * <dir>/initial.ckpt. 0, or -1 when the folder holds neither. */
int train_run_resume_point(const char *dir, char *path, size_t len);
/* whether <dir>/manifest.ini says status = complete */
int train_run_is_complete(const char *dir);

#endif
