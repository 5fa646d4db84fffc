/* dsrbench bench: training-step timings of the engine, OpenBLAS sgemm at the
 * convolutions' shapes and the methods' hook overhead (cmd_bench.c runs them
 * and writes results/bench/). Every measurement runs in a child process of
 * its own (bench_child.c), so its peak RSS is its own; the child fills a
 * result struct in memory shared with the parent. Synthetic data: a fresh
 * batch of N(0,1) images and uniform labels before every step, generated
 * outside the timed region. */
#ifndef DSRBENCH_BENCH_H
#define DSRBENCH_BENCH_H
#include <stddef.h>

#include "method.h"
#include "net.h"

#define BENCH_MAX_STEPS 64
#define BENCH_MAX_LAYERS 256
#define BENCH_MAX_GEMMS 192
#define BENCH_MAX_BATCH 1024

struct bench_model {
    const char *name;
    int c, h, w;
    int batches_per_epoch; /* of its data set at batch 100 (reallocation overhead) */
};

/* warm-up until both counts are reached, then time steps until both are */
struct bench_budget {
    int warmup_steps;
    double warmup_seconds;
    int min_steps, max_steps;
    double seconds;
};

struct bench_config {
    const struct bench_model *model;
    const char *method; /* a registry name: dense, static, dsr, ... */
    double sparsity;    /* for sparse methods */
    enum net_kernels kernels; /* masked layers' kernels (net.h) */
    int threads, batch;
    struct bench_budget budget;
};

/* samples of every timed step, seconds */
struct bench_steps {
    int steps, layers;
    double step[BENCH_MAX_STEPS], forward[BENCH_MAX_STEPS], backward[BENCH_MAX_STEPS],
        optimizer[BENCH_MAX_STEPS], hooks[BENCH_MAX_STEPS];
    double cpu[BENCH_MAX_STEPS]; /* CPU seconds of the process (all threads) in the step */
    double layer_forward[BENCH_MAX_STEPS][BENCH_MAX_LAYERS];
    double layer_backward[BENCH_MAX_STEPS][BENCH_MAX_LAYERS];
    char layer_name[BENCH_MAX_LAYERS][64];
    char layer_kind[BENCH_MAX_LAYERS][32];
    /* the kernels each layer with weights ran in the timed steps: "dense" or
     * "sparse" ("" for layers without weights); how many ran sparse */
    char layer_ran[BENCH_MAX_LAYERS][8];
    int sparse_layers;
};

/* seconds inside a method's hooks over one epoch of iterations */
struct bench_hooks {
    int iterations;
    double before_forward, after_backward, after_step, end_epoch;
};

/* one GEMM of a convolution (row-major cblas_sgemm arguments) and its time */
struct bench_gemm {
    char layer[56];
    int pass; /* 0 forward, 1 backward (weight and input gradient) */
    int m, n, k, trans_a, trans_b;
    double seconds; /* median sgemm time at this shape */
};
struct bench_gemms {
    int count;
    struct bench_gemm gemm[BENCH_MAX_GEMMS];
};

/* A method run set up by method_run_setup, as a training run of `epochs`
 * epochs would be, for a model with a bench_model input, at cfg->batch. */
struct bench_run {
    struct net *net;
    struct method_run run;
    struct train_hooks hooks;
};
int bench_run_setup(struct bench_run *b, const struct bench_config *cfg, int epochs);
void bench_run_free(struct bench_run *b);

/* each returns 0, or -1 with a message on stderr; threads already set */
int bench_measure_steps(const struct bench_config *cfg, struct bench_steps *out);
int bench_measure_hooks(const struct bench_config *cfg, struct bench_hooks *out);
int bench_measure_sgemm(const struct bench_config *cfg, int repeats, struct bench_gemms *out);

/* Runs fn(arg, result) in a child process with `threads` OpenMP and OpenBLAS
 * threads; result is `size` bytes of shared memory the caller's copy
 * receives. Returns fn's status (or -1 when the child died) and the child's
 * peak RSS in MiB. */
int bench_in_child(int (*fn)(const void *arg, void *result), const void *arg, void *result,
                   size_t size, int threads, double *peak_rss_mib);
/* Runs argv (a PyTorch timing script) with its stdout into out (up to len
 * bytes, NUL-terminated); returns its exit status (-1 when it could not run)
 * and its peak RSS in MiB. */
int bench_run_program(char *const argv[], char *out, size_t len, double *peak_rss_mib);

/* median of n values (sorts a copy); 0 for n = 0 */
double bench_median(const double *v, int n);
double bench_min(const double *v, int n);
double bench_max(const double *v, int n);

#endif
