/* One training run's state, shared by the steps of train_run (train_run.c),
 * its results files (run_results.c) and its checkpoints (run_checkpoint.c).
 * Zero-initialized, so run_free is safe after any step. */
#ifndef DSRBENCH_RUN_H
#define DSRBENCH_RUN_H
#include <stddef.h>

#include "checkpoint.h"
#include "dataset.h"
#include "method.h"
#include "models.h"
#include "progress.h"
#include "results_io.h"
#include "train.h"
#include "train_run.h"

/* epochs.csv: 14 base columns, the method's, then method_seconds and seconds */
enum { RUN_MAX_STATS = 8, RUN_MAX_COLUMNS = 14 + RUN_MAX_STATS + 2 };

struct run {
    const struct train_options *o;
    /* resolved options */
    const struct method *method;
    struct model_spec spec;
    enum data_kind kind;
    struct train_config cfg;
    char model[64], sparsity[32], run_id[256];
    /* data, model, method and trainer */
    struct dataset train, test;
    struct pipeline pipe;
    struct net *net;
    struct method_run method_run;
    struct trainer trainer;
    size_t total_params;
    char *config; /* options and data fingerprint, stored in every checkpoint */
    /* results */
    const char *epoch_header[RUN_MAX_COLUMNS]; /* the table keeps pointers to these */
    struct csv_table epochs, layers;
    struct progress progress;
    double best_test_acc, final_test_acc, train_seconds;
    int resumed_from; /* the epoch a resume started at; -1 for a new run */
    struct method_source source; /* --from: the run this one starts from */
    char source_method[64];
    int sparsity_from_source; /* no --sparsity: the source run's */
    int lock_fd;      /* <out>/.dsrbench.lock, held while the run lives; -1 before */
};

/* run_results.c: epochs.csv, layers.csv and manifest.ini */
void run_path(const struct run *r, const char *file, char *out, size_t len);
/* learnable parameters that are not masked out (or the method's own count) */
size_t run_active_params(const struct run *r);
/* the trainer's epoch_done: appends the epoch's rows and writes both tables */
int run_record_epoch(struct run *r, const struct epoch_result *result);
/* status "running", "complete" or "failed" */
int run_write_manifest(const struct run *r, const char *status);
/* a resume: reads the tables back, keeping the rows of epochs before next_epoch */
int run_restore_results(struct run *r, int next_epoch);

/* run_source.c: reads and checks --from's manifest (complete, same model and
 * data) into r->source; the method must take --from, or need it. 0 or 2. */
int run_read_source(struct run *r);

/* run_checkpoint.c */
/* the text stored in checkpoints: the saved options plus the data's fingerprint */
char *run_config_text(const struct run *r);
/* writes <out>/<name> for the trainer's current position */
int run_save_checkpoint(struct run *r, const char *name);
/* after build: continues from o->resume (tensors, masks, streams, position, method state) */
int run_restore_checkpoint(struct run *r);

#endif
