/* dsrbench bench: the performance benchmark behind `make bench`.
 *
 * For each model and thread count, side by side: PyTorch's dense training
 * step (experiments/bench_torch.py), then the engine's step dense and at each
 * sparsity (the static method's mask) on the dense masked path, the sparse
 * kernels and auto (--kernels); then OpenBLAS
 * sgemm alone at the convolutions' shapes, and one epoch of each
 * reallocating method's hooks. Every measurement is a child process of its own
 * (bench_child.c). Tables (bench_tables.c) go to <out>/steps.csv, layers.csv,
 * gemm.csv, hooks.csv and bench.ini; README.md documents their columns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_tables.h"
#include "commands.h"
#include "flags.h"
#include "manifest.h"
#include "net_kernels.h"
#include "train.h"

static const char usage[] =
    "usage: dsrbench bench [--profile quick|full] [--out DIR] [options]\n"
    "\n"
    "Times training steps of WRN-28-2 (3x32x32), WRN-16-1 (1x28x28) and LeNet-300-100\n"
    "(1x28x28) at batch 100, dense and at several sparsities on the dense masked path,\n"
    "the sparse kernels and auto (--kernels), next to PyTorch's dense step at the same\n"
    "thread counts; OpenBLAS sgemm at the\n"
    "convolutions' shapes; and the hook overhead of the reallocating methods.\n"
    "Writes <out>/steps.csv, layers.csv, gemm.csv, hooks.csv and bench.ini.\n"
    "Run it from the repository root (it runs experiments/bench_torch.py).\n\n";

static const struct bench_model bench_models[] = {
    {"wrn-28-2", 3, 32, 32, 500},     /* CIFAR-10: 50000 images */
    {"wrn-16-1", 1, 28, 28, 600},     /* Fashion-MNIST: 60000 images */
    {"lenet-300-100", 1, 28, 28, 600},
};
enum { N_MODELS = sizeof bench_models / sizeof bench_models[0] };

/* methods whose hooks are timed; static and dense have none */
static const char *const hook_methods[] = {"dsr", "set", "deepr", "compressed"};
enum { N_HOOK_METHODS = sizeof hook_methods / sizeof hook_methods[0] };
#define HOOK_SPARSITY 0.9

struct profile {
    const char *name;
    double sparsities[8];
    int n_sparsities;
    struct bench_budget budget;
    int sgemm_repeats;
};

/* sparsity 0 is the dense method; every profile measures HOOK_SPARSITY */
static const struct profile profiles[] = {
    {"quick", {0, 0.9}, 2, {1, 0.0, 3, BENCH_MAX_STEPS, 1.0}, 3},
    {"full", {0, 0.5, 0.8, 0.9, 0.95, 0.98}, 6, {2, 1.0, 5, BENCH_MAX_STEPS, 8.0}, 7},
};

struct options {
    const char *profile, *out, *python, *torch_script;
    struct flag_list models, threads, parts, sparsities, kernel_names;
    enum net_kernels kernels[3];
    int n_kernels;
    int torch;
    int steps, gemm, hooks; /* the parts to run */
};

static int child_steps(const void *arg, void *result)
{
    return bench_measure_steps(arg, result);
}

static int child_hooks(const void *arg, void *result)
{
    return bench_measure_hooks(arg, result);
}

static int child_sgemm(const void *arg, void *result)
{
    const struct bench_config *cfg = arg;
    return bench_measure_sgemm(cfg, cfg->budget.min_steps, result);
}

static int run_torch(const struct options *o, const struct bench_config *cfg,
                     struct torch_result *r)
{
    char input[32], threads[16], batch[16], warm_steps[16], warm_s[32], min[16], max[16],
        seconds[32];
    const struct bench_budget *b = &cfg->budget;
    snprintf(input, sizeof input, "%dx%dx%d", cfg->model->c, cfg->model->h, cfg->model->w);
    snprintf(threads, sizeof threads, "%d", cfg->threads);
    snprintf(batch, sizeof batch, "%d", cfg->batch);
    snprintf(warm_steps, sizeof warm_steps, "%d", b->warmup_steps);
    snprintf(warm_s, sizeof warm_s, "%g", b->warmup_seconds);
    snprintf(min, sizeof min, "%d", b->min_steps);
    snprintf(max, sizeof max, "%d", b->max_steps);
    snprintf(seconds, sizeof seconds, "%g", b->seconds);
    char *const argv[] = {(char *)o->python, (char *)o->torch_script, "--model",
                          (char *)cfg->model->name, "--input", input, "--threads", threads,
                          "--batch", batch, "--warmup-steps", warm_steps, "--warmup-seconds",
                          warm_s, "--min-steps", min, "--max-steps", max, "--seconds",
                          seconds, NULL};
    char out[4096];
    const int rc = bench_run_program(argv, out, sizeof out, &r->peak_rss_mib);
    const char *line = strstr(out, "steps=");
    if (rc != 0 || !line ||
        sscanf(line, "steps=%d step=%lf step_min=%lf step_max=%lf forward=%lf backward=%lf "
                     "optimizer=%lf cpu=%lf",
               &r->steps, &r->step, &r->step_min, &r->step_max, &r->forward, &r->backward,
               &r->optimizer, &r->cpu) != 8) {
        fprintf(stderr, "dsrbench bench: %s %s --model %s failed (exit %d) or printed no "
                        "'steps=' line\n",
                o->python, o->torch_script, cfg->model->name, rc);
        return -1;
    }
    return 0;
}

static const struct bench_model *find_model(const char *name)
{
    for (int i = 0; i < N_MODELS; i++)
        if (strcmp(bench_models[i].name, name) == 0)
            return &bench_models[i];
    return NULL;
}

/* one model at one thread count: PyTorch, the engine's steps, sgemm, hooks */
static int bench_model_threads(const struct options *o, const struct profile *p,
                               struct bench_config cfg, struct bench_tables *t,
                               struct bench_steps *steps)
{
    struct torch_result torch = {0};
    const char *name = cfg.model->name;
    if (o->torch) {
        if (run_torch(o, &cfg, &torch) != 0)
            return -1;
        bench_tables_add_torch(t, &cfg, &torch);
        fprintf(stderr, "bench: %-14s pytorch       threads %d: step %.4f s\n", name,
                cfg.threads, torch.step);
    }
    double hook_step = 0.0;
    for (int s = 0; s < p->n_sparsities && o->steps; s++) {
        cfg.sparsity = p->sparsities[s];
        cfg.method = cfg.sparsity > 0 ? "static" : "dense";
        /* the dense method has no masks: one run, on the dense kernels */
        const int n_kernels = cfg.sparsity > 0 ? o->n_kernels : 1;
        double dense_kernels_step = 0.0;
        for (int k = 0; k < n_kernels; k++) {
            cfg.kernels = cfg.sparsity > 0 ? o->kernels[k] : NET_KERNELS_DENSE;
            double rss;
            if (bench_in_child(child_steps, &cfg, steps, sizeof *steps, cfg.threads, &rss) != 0)
                return -1;
            const double step = bench_tables_add_steps(t, &cfg, steps, rss,
                                                       o->torch ? &torch : NULL,
                                                       dense_kernels_step);
            fprintf(stderr, "bench: %-14s %-6s %-6g %-6s threads %d: step %.4f s\n", name,
                    cfg.method, cfg.sparsity, net_kernels_name(cfg.kernels), cfg.threads, step);
            if (cfg.kernels == NET_KERNELS_DENSE)
                dense_kernels_step = step;
            if (cfg.sparsity == 0)
                bench_tables_keep_dense_layers(t, steps);
            if (cfg.sparsity == HOOK_SPARSITY && cfg.kernels == NET_KERNELS_DENSE)
                hook_step = step;
        }
    }
    cfg.kernels = NET_KERNELS_DENSE;
    cfg.sparsity = 0;
    cfg.method = "dense";
    double rss;
    if (o->gemm) {
        struct bench_gemms *gemms = malloc(sizeof *gemms);
        cfg.budget.min_steps = p->sgemm_repeats;
        if (!gemms ||
            bench_in_child(child_sgemm, &cfg, gemms, sizeof *gemms, cfg.threads, &rss) != 0) {
            free(gemms);
            return -1;
        }
        bench_tables_add_gemms(t, &cfg, gemms);
        free(gemms);
        cfg.budget = p->budget;
    }
    cfg.sparsity = HOOK_SPARSITY;
    for (int m = 0; m < N_HOOK_METHODS && o->hooks; m++) {
        struct bench_hooks hooks;
        cfg.method = hook_methods[m];
        if (bench_in_child(child_hooks, &cfg, &hooks, sizeof hooks, cfg.threads, &rss) != 0)
            return -1;
        const double overhead = bench_tables_add_hooks(t, &cfg, &hooks, hook_step);
        fprintf(stderr, "bench: %-14s %-10s threads %d: hooks %.3f%% of an epoch's steps\n",
                name, cfg.method, cfg.threads, 100.0 * overhead);
    }
    return 0;
}

static int parse_threads(const struct flag_list *list, int *threads, int *n)
{
    *n = 0;
    for (int i = 0; i < list->count; i++) {
        char *end;
        const long v = strtol(list->items[i], &end, 10);
        if (end == list->items[i] || *end || v < 1 || v > 256) {
            fprintf(stderr, "dsrbench bench: --threads '%s': expected a count from 1 to 256\n",
                    list->items[i]);
            return -1;
        }
        threads[(*n)++] = (int)v;
    }
    return 0;
}

static int parse_sparsities(const struct flag_list *list, struct profile *p)
{
    const int max = (int)(sizeof p->sparsities / sizeof p->sparsities[0]);
    p->n_sparsities = 0;
    for (int i = 0; i < list->count; i++) {
        char *end;
        const double v = strtod(list->items[i], &end);
        if (end == list->items[i] || *end || !(v >= 0 && v < 1) || p->n_sparsities == max) {
            fprintf(stderr, "dsrbench bench: --sparsity '%s': expected a fraction in [0, 1), "
                            "at most %d of them\n",
                    list->items[i], max);
            return -1;
        }
        p->sparsities[p->n_sparsities++] = v;
    }
    return 0;
}

/* --kernels: dense first (the other rows' speed-up is against it), each once;
 * all three without the flag */
static int parse_kernels(struct options *o)
{
    int wanted[3] = {0, 0, 0};
    for (int i = 0; i < o->kernel_names.count; i++) {
        enum net_kernels k;
        if (net_kernels_parse(o->kernel_names.items[i], &k) != 0) {
            fprintf(stderr, "dsrbench bench: --kernels '%s': expected dense, sparse or auto\n",
                    o->kernel_names.items[i]);
            return -1;
        }
        wanted[k] = 1;
    }
    o->n_kernels = 0;
    for (int k = 0; k < 3; k++)
        if (wanted[k] || o->kernel_names.count == 0)
            o->kernels[o->n_kernels++] = (enum net_kernels)k;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    struct options o = {.profile = "full", .out = "results/bench", .python = "/usr/bin/python3",
                        .torch_script = "experiments/bench_torch.py", .torch = 1};
    struct flag flags[] = {
        {"profile", FLAG_STRING, &o.profile, 0, 0, "P",
         "quick (dense and 0.9, short budgets: a few minutes) or full (default)", 0},
        {"out", FLAG_STRING, &o.out, 0, 0, "DIR", "results folder (default results/bench)", 0},
        {"model", FLAG_STRING_LIST, &o.models, 0, 0, "M",
         "wrn-28-2, wrn-16-1 or lenet-300-100 (repeatable; default all three)", 0},
        {"threads", FLAG_STRING_LIST, &o.threads, 0, 0, "N",
         "thread count (repeatable; default 1 and 2)", 0},
        {"sparsity", FLAG_STRING_LIST, &o.sparsities, 0, 0, "S",
         "sparsity of the masked dense path, 0 for dense (repeatable; default: the "
         "profile's)", 0},
        {"kernels", FLAG_STRING_LIST, &o.kernel_names, 0, 0, "K",
         "dense, sparse or auto: the masked configurations' kernels, each a row "
         "(repeatable, run dense first; default all three)", 0},
        {"part", FLAG_STRING_LIST, &o.parts, 0, 0, "P",
         "steps, gemm or hooks: run only these parts (repeatable; default all)", 0},
        {"torch", FLAG_BOOL, &o.torch, 0, 0, NULL,
         "time PyTorch beside the engine (default on; --no-torch skips it)", 0},
        {"python", FLAG_STRING, &o.python, 0, 0, "PATH",
         "Python with torch (default /usr/bin/python3)", 0},
        {"torch-script", FLAG_STRING, &o.torch_script, 0, 0, "PATH",
         "the PyTorch timing script (default experiments/bench_torch.py)", 0},
    };
    const int n_flags = sizeof flags / sizeof flags[0];
    const int parsed = flags_parse(flags, n_flags, argc, argv, 2, "bench", usage);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    struct profile p_copy;
    const struct profile *p = NULL;
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
        if (strcmp(profiles[i].name, o.profile) == 0)
            p = &profiles[i];
    if (!p) {
        fprintf(stderr, "dsrbench bench: --profile '%s': expected quick or full\n", o.profile);
        return 2;
    }
    if (o.sparsities.count) {
        p_copy = *p;
        if (parse_sparsities(&o.sparsities, &p_copy) != 0)
            return 2;
        p = &p_copy;
    }
    if (parse_kernels(&o) != 0)
        return 2;
    for (int i = 0; i < o.parts.count; i++) {
        const char *part = o.parts.items[i];
        int *on = strcmp(part, "steps") == 0  ? &o.steps
                  : strcmp(part, "gemm") == 0 ? &o.gemm
                  : strcmp(part, "hooks") == 0 ? &o.hooks : NULL;
        if (!on) {
            fprintf(stderr, "dsrbench bench: --part '%s': expected steps, gemm or hooks\n", part);
            return 2;
        }
        *on = 1;
    }
    if (o.parts.count == 0)
        o.steps = o.gemm = o.hooks = 1;
    o.torch = o.torch && o.steps;
    const struct bench_model *models[N_MODELS];
    int n_models = o.models.count ? o.models.count : N_MODELS;
    if (n_models > N_MODELS) {
        fprintf(stderr, "dsrbench bench: --model given %d times; there are %d models\n",
                o.models.count, N_MODELS);
        return 2;
    }
    for (int i = 0; i < n_models; i++) {
        models[i] = o.models.count ? find_model(o.models.items[i]) : &bench_models[i];
        for (int j = 0; j < i && models[i]; j++)
            if (models[j] == models[i])
                models[i] = NULL;
        if (!models[i]) {
            fprintf(stderr, "dsrbench bench: --model '%s': expected wrn-28-2, wrn-16-1 or "
                            "lenet-300-100, each at most once\n",
                    o.models.items[i]);
            return 2;
        }
    }
    int threads[FLAG_LIST_MAX] = {1, 2}, n_threads = 2;
    if (o.threads.count && parse_threads(&o.threads, threads, &n_threads) != 0)
        return 2;
    if (o.torch && (access(o.python, X_OK) != 0 || access(o.torch_script, R_OK) != 0)) {
        fprintf(stderr, "dsrbench bench: --python %s / --torch-script %s: not found (install "
                        "PyTorch with ./install-deps.sh --reference, run from the repository "
                        "root, or pass --no-torch)\n",
                o.python, o.torch_script);
        return 2;
    }
    if (make_dirs(o.out) != 0)
        return 1;
    struct bench_tables tables;
    bench_tables_init(&tables, o.out, argc, argv, p->name);
    struct bench_steps *steps = malloc(sizeof *steps);
    int status = steps ? 0 : 1;
    const double start = monotonic_seconds();
    for (int m = 0; m < n_models && status == 0; m++) {
        for (int t = 0; t < n_threads && status == 0; t++) {
            const struct bench_config cfg = {.model = models[m], .threads = threads[t],
                                             .batch = 100, .budget = p->budget};
            if (bench_model_threads(&o, p, cfg, &tables, steps) != 0)
                status = 1;
            if (bench_tables_write(&tables, monotonic_seconds() - start) != 0)
                status = 1;
        }
    }
    if (status == 0)
        fprintf(stderr, "bench: %.0f s; tables in %s\n", monotonic_seconds() - start, o.out);
    free(steps);
    bench_tables_free(&tables);
    return status;
}
