/* Runs a plan: every run is `dsrbench train ... --out DIR` in a child
 * process (this same binary, /proc/self/exe), at most `jobs` at a time, each
 * after the run it reads. A run whose DIR/manifest.ini says complete is
 * skipped; any other run folder is removed and the run redone, so a killed
 * grid resumes where it stopped and never reuses half a run. Each child's
 * output goes to DIR/train.log; stderr gets one line per run started and
 * finished with an ETA; summary.csv is rewritten after every run. */
#ifndef DSRBENCH_RUNNER_H
#define DSRBENCH_RUNNER_H
#include "plan.h"

struct runner_options {
    int jobs;         /* parallel runs, >= 1 */
    const char *only; /* fnmatch pattern over run ids (their sources come too), NULL: all */
    int dry_run;      /* print the runs in order with their commands, run nothing */
};

/* The exit status: 0 when every selected run is complete; 1 when a run
 * failed, data is missing or the runner was interrupted (SIGINT/SIGTERM kill
 * the children first); 2 when a complete run was made by another command or
 * --only matches nothing. */
int runner_execute(const struct plan *p, const struct runner_options *o);

#endif
