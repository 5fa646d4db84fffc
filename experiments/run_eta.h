/* The time a grid has left, estimated from the runs that finished: seconds
 * per epoch of the same method and model in the same grid, else of the same
 * model in the grid, else of any run, times the epochs still to go, shared
 * by the parallel jobs. */
#ifndef DSRBENCH_RUN_ETA_H
#define DSRBENCH_RUN_ETA_H
#include <stddef.h>

#include "plan.h"

struct run_eta {
    const struct plan *plan;
    int *fine, *coarse;         /* each run's class: grid+model+method, grid+model */
    double *fine_sum, *coarse_sum, all_sum; /* seconds per epoch, summed */
    int *fine_n, *coarse_n, all_n;
};

void run_eta_init(struct run_eta *e, const struct plan *p);
void run_eta_free(struct run_eta *e);
/* a finished run (this session or an earlier one) and its wall time */
void run_eta_observe(struct run_eta *e, int run, double wall_seconds);
/* Seconds left for the runs still waiting (waiting[i] set) and the running
 * ones (elapsed[i] >= 0 seconds so far), over `jobs` parallel jobs; < 0 when
 * no run has finished yet. */
double run_eta_left(const struct run_eta *e, const char *waiting, const double *elapsed,
                    int jobs);
/* "45s", "12m05s", "2h03m" */
void format_duration(double seconds, char *out, size_t len);

#endif
