/* results/<profile>/<experiment>/summary.csv: one row per run of the plan,
 * its configuration from the spec and its results from the run folder
 * (columns in README.md "Running experiments"). */
#ifndef DSRBENCH_SUMMARY_H
#define DSRBENCH_SUMMARY_H
#include "plan.h"

/* status[i] is run i's status: complete, failed, blocked (its source
 * failed) or not-run; results are filled for complete runs only. Written
 * atomically; 0 or -1 with a message on stderr. */
int summary_write(const struct plan *p, const char *const *status, const char *path);

#endif
