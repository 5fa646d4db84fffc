/* What a finished (or unfinished) run folder says about itself, read from
 * its manifest.ini and epochs.csv: whether it is complete, the command that
 * made it, and its results. Used by the runner (skip, redo, refuse a run made
 * by another command) and by summary.csv. */
#ifndef DSRBENCH_RUN_RECORD_H
#define DSRBENCH_RUN_RECORD_H

enum run_state {
    RUN_ABSENT,     /* no folder */
    RUN_COMPLETE,   /* manifest.ini says status = complete */
    RUN_UNFINISHED, /* anything else: running when killed, failed, half written */
};

struct run_record {
    enum run_state state;
    char status[32];       /* the manifest's status, "" when there is none */
    char *command;         /* the manifest's command, NULL when there is none */
    char final_test_acc[32], best_test_acc[32], wall_seconds[32];
    char active_params[32], total_params[32]; /* last row of epochs.csv */
    int epoch_rows;        /* rows of epochs.csv */
};

void run_record_read(const char *dir, struct run_record *r);
void run_record_free(struct run_record *r);

/* Whether a manifest's command line asks for the same run as argv: equal
 * apart from the program path, --threads (which only changes the bits of
 * float sums), --out and the folder of --from (both move with the results). */
int run_record_same_command(const char *recorded, char *const *argv);

#endif
