#include "bench_tables.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "manifest.h"
#include "net_kernels.h"

static const char *steps_columns[] = {
    "impl",      "model",      "method",     "sparsity",   "threads",  "batch",
    "steps",     "step_s",     "step_min_s", "step_max_s", "forward_s", "backward_s",
    "optimizer_s", "hooks_s",  "cpu_s",      "vs_pytorch", "cpu_vs_pytorch", "peak_rss_mib",
    "load1",     "kernels",    "sparse_layers", "vs_dense_kernels"};
static const char *layers_columns[] = {"model", "sparsity",   "kernels",    "threads", "index",
                                       "layer", "kind",       "ran",        "forward_ms",
                                       "backward_ms", "forward_min_ms", "backward_min_ms"};
static const char *gemm_columns[] = {
    "model", "threads", "layer", "pass", "out_c", "ckk", "cols", "gflop",
    "layer_s", "layer_gflops", "sgemm_s", "sgemm_gflops", "efficiency"};
static const char *hooks_columns[] = {
    "model", "method", "sparsity", "threads", "iterations", "before_forward_s",
    "after_backward_s", "after_step_s", "end_epoch_s", "hooks_s", "step_s", "overhead"};
#define COLUMNS(a) ((int)(sizeof a / sizeof a[0]))

/* a row of formatted cells */
struct row {
    char cell[24][64];
    const char *value[24];
    int n;
};

static void put(struct row *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct row *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->cell[r->n], sizeof r->cell[r->n], fmt, ap);
    va_end(ap);
    r->value[r->n] = r->cell[r->n];
    r->n++;
}

static double load_average(void)
{
    double load = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1)
            load = -1.0;
        fclose(f);
    }
    return load;
}

void bench_tables_init(struct bench_tables *t, const char *dir, int argc, char **argv,
                       const char *profile)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "%s", dir);
    for (int i = 0; i < argc; i++)
        text_printf(&t->command, "%s%s", i ? " " : "", argv[i]);
    t->profile = profile;
    t->load_start = load_average();
    csv_table_init(&t->steps, steps_columns, COLUMNS(steps_columns));
    csv_table_init(&t->layers, layers_columns, COLUMNS(layers_columns));
    csv_table_init(&t->gemm, gemm_columns, COLUMNS(gemm_columns));
    csv_table_init(&t->hooks, hooks_columns, COLUMNS(hooks_columns));
}

void bench_tables_free(struct bench_tables *t)
{
    text_free(&t->command);
    csv_table_free(&t->steps);
    csv_table_free(&t->layers);
    csv_table_free(&t->gemm);
    csv_table_free(&t->hooks);
}

static int write_table(const struct bench_tables *t, const struct csv_table *table,
                       const char *name)
{
    char path[2200];
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    return csv_table_write(table, path);
}

int bench_tables_write(const struct bench_tables *t, double wall_seconds)
{
    struct text ini = {0};
    char path[2200];
    const time_t now = time(NULL);
    char stamp[64];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
    text_printf(&ini, "[bench]\ncommand = %s\nprofile = %s\nwritten = %s\n",
                t->command.data ? t->command.data : "", t->profile, stamp);
    text_printf(&ini, "wall_seconds = %.1f\ncpus = %ld\nload1_start = %.2f\nload1_now = %.2f\n",
                wall_seconds, sysconf(_SC_NPROCESSORS_ONLN), t->load_start, load_average());
    manifest_build_section(&ini);
    snprintf(path, sizeof path, "%s/bench.ini", t->dir);
    int rc = write_file_atomic(path, ini.data, ini.len);
    text_free(&ini);
    rc |= write_table(t, &t->steps, "steps.csv");
    rc |= write_table(t, &t->layers, "layers.csv");
    rc |= write_table(t, &t->gemm, "gemm.csv");
    rc |= write_table(t, &t->hooks, "hooks.csv");
    return rc ? -1 : 0;
}

static void put_config(struct row *r, const char *impl, const struct bench_config *cfg)
{
    put(r, "%s", impl);
    put(r, "%s", cfg->model->name);
    put(r, "%s", cfg->method);
    put(r, "%g", cfg->sparsity);
    put(r, "%d", cfg->threads);
    put(r, "%d", cfg->batch);
}

void bench_tables_add_torch(struct bench_tables *t, const struct bench_config *cfg,
                            const struct torch_result *r)
{
    struct row row = {.n = 0};
    const struct bench_config dense = {.model = cfg->model, .method = "dense",
                                       .threads = cfg->threads, .batch = cfg->batch};
    put_config(&row, "pytorch", &dense);
    put(&row, "%d", r->steps);
    put(&row, "%.6f", r->step);
    put(&row, "%.6f", r->step_min);
    put(&row, "%.6f", r->step_max);
    put(&row, "%.6f", r->forward);
    put(&row, "%.6f", r->backward);
    put(&row, "%.6f", r->optimizer);
    put(&row, "0");
    put(&row, "%.6f", r->cpu);
    put(&row, "1");
    put(&row, "1");
    put(&row, "%.1f", r->peak_rss_mib);
    put(&row, "%.2f", load_average());
    put(&row, "%s", "");
    put(&row, "%s", "");
    put(&row, "%s", "");
    csv_table_add_row(&t->steps, row.value);
}

/* layer l's forward and backward seconds in every timed step */
static void layer_times(const struct bench_steps *s, int l, double *forward, double *backward)
{
    for (int i = 0; i < s->steps; i++) {
        forward[i] = s->layer_forward[i][l];
        backward[i] = s->layer_backward[i][l];
    }
}

double bench_tables_add_steps(struct bench_tables *t, const struct bench_config *cfg,
                              const struct bench_steps *s, double peak_rss_mib,
                              const struct torch_result *torch, double dense_kernels_step)
{
    struct row row = {.n = 0};
    const double step = bench_median(s->step, s->steps);
    put_config(&row, "c", cfg);
    put(&row, "%d", s->steps);
    put(&row, "%.6f", step);
    put(&row, "%.6f", bench_min(s->step, s->steps));
    put(&row, "%.6f", bench_max(s->step, s->steps));
    put(&row, "%.6f", bench_median(s->forward, s->steps));
    put(&row, "%.6f", bench_median(s->backward, s->steps));
    put(&row, "%.6f", bench_median(s->optimizer, s->steps));
    put(&row, "%.6f", bench_median(s->hooks, s->steps));
    const double cpu = bench_median(s->cpu, s->steps);
    put(&row, "%.6f", cpu);
    if (torch) {
        put(&row, "%.4f", step / torch->step);
        put(&row, "%.4f", cpu / torch->cpu);
    } else {
        put(&row, "%s", "");
        put(&row, "%s", "");
    }
    put(&row, "%.1f", peak_rss_mib);
    put(&row, "%.2f", load_average());
    put(&row, "%s", net_kernels_name(cfg->kernels));
    put(&row, "%d", s->sparse_layers);
    if (dense_kernels_step > 0)
        put(&row, "%.4f", step / dense_kernels_step);
    else
        put(&row, "%s", "");
    csv_table_add_row(&t->steps, row.value);

    double forward[BENCH_MAX_STEPS], backward[BENCH_MAX_STEPS];
    for (int l = 0; l < s->layers; l++) {
        struct row lr = {.n = 0};
        put(&lr, "%s", cfg->model->name);
        put(&lr, "%g", cfg->sparsity);
        put(&lr, "%s", net_kernels_name(cfg->kernels));
        put(&lr, "%d", cfg->threads);
        put(&lr, "%d", l);
        put(&lr, "%s", s->layer_name[l]);
        put(&lr, "%s", s->layer_kind[l]);
        put(&lr, "%s", s->layer_ran[l]);
        layer_times(s, l, forward, backward);
        put(&lr, "%.4f", 1e3 * bench_median(forward, s->steps));
        put(&lr, "%.4f", 1e3 * bench_median(backward, s->steps));
        /* the fastest step: on a busy machine the least disturbed one */
        put(&lr, "%.4f", 1e3 * bench_min(forward, s->steps));
        put(&lr, "%.4f", 1e3 * bench_min(backward, s->steps));
        csv_table_add_row(&t->layers, lr.value);
    }
    return step;
}

void bench_tables_keep_dense_layers(struct bench_tables *t, const struct bench_steps *s)
{
    double forward[BENCH_MAX_STEPS], backward[BENCH_MAX_STEPS];
    t->dense_layers = s->layers;
    for (int l = 0; l < s->layers; l++) {
        snprintf(t->dense_name[l], sizeof t->dense_name[l], "%s", s->layer_name[l]);
        layer_times(s, l, forward, backward);
        t->dense_forward[l] = bench_median(forward, s->steps);
        t->dense_backward[l] = bench_median(backward, s->steps);
    }
}

static int dense_layer(const struct bench_tables *t, const char *name)
{
    for (int l = 0; l < t->dense_layers; l++)
        if (strcmp(t->dense_name[l], name) == 0)
            return l;
    return -1;
}

/* one row per convolution and pass: the GEMMs of that pass summed */
void bench_tables_add_gemms(struct bench_tables *t, const struct bench_config *cfg,
                            const struct bench_gemms *g)
{
    for (int i = 0; i < g->count;) {
        const struct bench_gemm *first = &g->gemm[i];
        double flop = 0.0, sgemm = 0.0;
        int j = i;
        for (; j < g->count && g->gemm[j].pass == first->pass &&
               strcmp(g->gemm[j].layer, first->layer) == 0;
             j++) {
            flop += 2.0 * g->gemm[j].m * (double)g->gemm[j].n * g->gemm[j].k;
            sgemm += g->gemm[j].seconds;
        }
        const int l = dense_layer(t, first->layer);
        const double layer = l < 0 ? 0.0 : first->pass ? t->dense_backward[l]
                                                        : t->dense_forward[l];
        /* the forward GEMM's shape names the convolution: Cout x CKK times CKK x cols */
        const struct bench_gemm *fwd = first->pass ? first - 1 : first;
        struct row row = {.n = 0};
        put(&row, "%s", cfg->model->name);
        put(&row, "%d", cfg->threads);
        put(&row, "%s", first->layer);
        put(&row, "%s", first->pass ? "backward" : "forward");
        put(&row, "%d", fwd->m);
        put(&row, "%d", fwd->k);
        put(&row, "%d", fwd->n);
        put(&row, "%.4f", flop / 1e9);
        put(&row, "%.6f", layer);
        put(&row, "%.2f", layer > 0 ? flop / layer / 1e9 : 0.0);
        put(&row, "%.6f", sgemm);
        put(&row, "%.2f", sgemm > 0 ? flop / sgemm / 1e9 : 0.0);
        put(&row, "%.3f", layer > 0 && sgemm > 0 ? sgemm / layer : 0.0);
        csv_table_add_row(&t->gemm, row.value);
        i = j;
    }
}

double bench_tables_add_hooks(struct bench_tables *t, const struct bench_config *cfg,
                              const struct bench_hooks *h, double step_seconds)
{
    const double hooks = h->before_forward + h->after_backward + h->after_step + h->end_epoch;
    const double overhead = step_seconds > 0 ? hooks / (h->iterations * step_seconds) : 0.0;
    struct row row = {.n = 0};
    put(&row, "%s", cfg->model->name);
    put(&row, "%s", cfg->method);
    put(&row, "%g", cfg->sparsity);
    put(&row, "%d", cfg->threads);
    put(&row, "%d", h->iterations);
    put(&row, "%.6f", h->before_forward);
    put(&row, "%.6f", h->after_backward);
    put(&row, "%.6f", h->after_step);
    put(&row, "%.6f", h->end_epoch);
    put(&row, "%.6f", hooks);
    put(&row, "%.6f", step_seconds);
    put(&row, "%.5f", overhead);
    csv_table_add_row(&t->hooks, row.value);
    return overhead;
}
