/* The tables `dsrbench bench` writes (columns in README.md):
 *   steps.csv   one row per implementation, model, sparsity and thread count
 *   layers.csv  the engine's per-layer forward and backward medians
 *   gemm.csv    each convolution's achieved GFLOP/s against sgemm alone
 *   hooks.csv   one epoch of a method's hooks as a fraction of its steps
 *   bench.ini   the command, profile, wall time, load and build facts */
#ifndef DSRBENCH_BENCH_TABLES_H
#define DSRBENCH_BENCH_TABLES_H
#include "bench.h"
#include "results_io.h"

struct torch_result {
    int steps;
    double step, step_min, step_max, forward, backward, optimizer, cpu, peak_rss_mib;
};

struct bench_tables {
    char dir[2048];
    struct text command;
    const char *profile;
    double load_start;
    struct csv_table steps, layers, gemm, hooks;
    /* the latest dense configuration's per-layer medians, for gemm.csv */
    int dense_layers;
    char dense_name[BENCH_MAX_LAYERS][64];
    double dense_forward[BENCH_MAX_LAYERS], dense_backward[BENCH_MAX_LAYERS];
};

void bench_tables_init(struct bench_tables *t, const char *dir, int argc, char **argv,
                       const char *profile);
void bench_tables_free(struct bench_tables *t);
/* writes every table and bench.ini; 0 or -1 */
int bench_tables_write(const struct bench_tables *t, double wall_seconds);

void bench_tables_add_torch(struct bench_tables *t, const struct bench_config *cfg,
                            const struct torch_result *r);
/* a steps.csv row and the layers.csv rows; returns the median step seconds.
 * torch (NULL when not run) is PyTorch's dense step at this model and threads;
 * dense_kernels_step (0: none) the same configuration's step on dense kernels. */
double bench_tables_add_steps(struct bench_tables *t, const struct bench_config *cfg,
                              const struct bench_steps *s, double peak_rss_mib,
                              const struct torch_result *torch, double dense_kernels_step);
void bench_tables_keep_dense_layers(struct bench_tables *t, const struct bench_steps *s);
/* joins the sgemm times with the kept dense per-layer medians */
void bench_tables_add_gemms(struct bench_tables *t, const struct bench_config *cfg,
                            const struct bench_gemms *g);
/* returns the hooks' seconds over iterations * step_seconds */
double bench_tables_add_hooks(struct bench_tables *t, const struct bench_config *cfg,
                              const struct bench_hooks *h, double step_seconds);

#endif
