#include "train_run.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "method.h"
#include "models.h"
#include "progress.h"
#include "results_io.h"
#include "train.h"

void train_options_defaults(struct train_options *o)
{
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (struct train_options){.model = "lenet-300-100", .method = "dense", .sparsity = -1,
                                .data = "fashion-mnist", .epochs = 10,
                                .batch = 100, .eval_batch = 500, .lr_schedule = "scaled",
                                .lr = 0, .momentum = 0.9, .nesterov = 1,
                                .weight_decay = 5e-4, .seed = 1,
                                .threads = cores > 0 ? (int)cores : 1, .augment = "default"};
}

static const char *epoch_columns[] = {
    "run_id",    "method",     "model",     "data",          "sparsity",     "seed",
    "epoch",     "lr",         "train_loss", "train_acc",    "test_loss",    "test_acc",
    "active_params", "total_params",
};
/* the method's columns follow, then "method_seconds" and "seconds" */
enum { BASE_COLUMNS = sizeof epoch_columns / sizeof epoch_columns[0], MAX_STATS = 8,
       TAIL_COLUMNS = 2 };
static const char *layer_columns[] = {"epoch", "layer", "total", "active"};

struct run_state {
    const struct train_options *o;
    struct method_run *method;
    char sparsity[32];
    char run_id[256], model[64], epochs_path[4200];
    size_t total_params;
    const char *header[BASE_COLUMNS + MAX_STATS + TAIL_COLUMNS];
    struct csv_table table, layers;
    char layers_path[4200];
    struct progress progress;
    int train_images;
    double best_test_acc, final_test_acc;
};

static int apply_augment(const char *name, int crop_pad, struct augment *aug)
{
    const int pad = crop_pad > 0 ? crop_pad : (aug->crop_pad > 0 ? aug->crop_pad : 2);
    if (strcmp(name, "default") == 0) {
        if (crop_pad > 0 && aug->crop_pad > 0)
            aug->crop_pad = crop_pad;
        return 0;
    }
    if (strcmp(name, "none") == 0)
        *aug = (struct augment){0};
    else if (strcmp(name, "flip") == 0)
        *aug = (struct augment){.hflip = 1};
    else if (strcmp(name, "crop") == 0)
        *aug = (struct augment){.crop_pad = pad, .reflect_pad = aug->reflect_pad};
    else if (strcmp(name, "crop-flip") == 0)
        *aug = (struct augment){.crop_pad = pad, .reflect_pad = aug->reflect_pad, .hflip = 1};
    else
        return -1;
    return 0;
}

static void format_augment(const struct augment *a, char *out, size_t len)
{
    char crop[32] = "";
    if (a->crop_pad)
        snprintf(crop, sizeof crop, "%s-crop-pad-%d ", a->reflect_pad ? "reflect" : "zero",
                 a->crop_pad);
    snprintf(out, len, "%s%s%s", crop, a->hflip ? "flip " : "",
             a->random_resized_crop ? "random-resized-crop" : "");
    if (!out[0])
        snprintf(out, len, "none");
    else if (out[strlen(out) - 1] == ' ')
        out[strlen(out) - 1] = '\0';
}

/* learnable parameters that are not masked out (or the method's own count) */
static size_t active_params(const struct run_state *s)
{
    const struct sparse_store *store = &s->method->store;
    if (s->method->method->learnable_params)
        return s->method->method->learnable_params(s->method);
    return s->total_params - store->positions + sparse_store_active(store);
}

/* appends one row per sparse tensor to layers.csv (RQ4: per-layer sparsity over time) */
static int write_layer_rows(struct run_state *s, int epoch)
{
    const struct sparse_store *store = &s->method->store;
    if (store->count == 0)
        return 0;
    for (int t = 0; t < store->count; t++) {
        char e[16], total[24], active[24];
        snprintf(e, sizeof e, "%d", epoch);
        snprintf(total, sizeof total, "%zu", store->tensors[t].param->count);
        snprintf(active, sizeof active, "%zu", store->tensors[t].active);
        const char *row[4] = {e, store->tensors[t].param->name, total, active};
        csv_table_add_row(&s->layers, row);
    }
    return csv_table_write(&s->layers, s->layers_path);
}

static int epoch_done(void *ctx, const struct epoch_result *r)
{
    struct run_state *s = ctx;
    const struct method *m = s->method->method;
    struct method_stat stats[MAX_STATS];
    const int n_stats = m->stats ? m->stats(s->method, stats, MAX_STATS) : 0;
    if (s->table.columns == 0) { /* the first epoch fixes the header */
        for (int i = 0; i < BASE_COLUMNS; i++)
            s->header[i] = epoch_columns[i];
        for (int i = 0; i < n_stats; i++)
            s->header[BASE_COLUMNS + i] = stats[i].name;
        s->header[BASE_COLUMNS + n_stats] = "method_seconds";
        s->header[BASE_COLUMNS + n_stats + 1] = "seconds";
        csv_table_init(&s->table, s->header, BASE_COLUMNS + n_stats + TAIL_COLUMNS);
    }
    char cells[BASE_COLUMNS + MAX_STATS + TAIL_COLUMNS][32] = {{0}};
    const char *values[BASE_COLUMNS + MAX_STATS + TAIL_COLUMNS] = {
        s->run_id, m->name, s->model, s->o->data, s->sparsity};
    snprintf(cells[5], 32, "%llu", (unsigned long long)s->o->seed);
    snprintf(cells[6], 32, "%d", r->epoch);
    snprintf(cells[7], 32, "%.6g", r->lr);
    snprintf(cells[8], 32, "%.6f", r->train_loss);
    snprintf(cells[9], 32, "%.4f", r->train_acc);
    snprintf(cells[10], 32, "%.6f", r->test_loss);
    snprintf(cells[11], 32, "%.4f", r->test_acc);
    snprintf(cells[12], 32, "%zu", active_params(s));
    snprintf(cells[13], 32, "%zu", s->total_params);
    for (int i = 0; i < n_stats; i++)
        snprintf(cells[BASE_COLUMNS + i], 32, "%.9g", stats[i].value);
    snprintf(cells[BASE_COLUMNS + n_stats], 32, "%.4f", r->method_seconds);
    snprintf(cells[BASE_COLUMNS + n_stats + 1], 32, "%.3f", r->seconds);
    for (int i = 5; i < BASE_COLUMNS + n_stats + TAIL_COLUMNS; i++)
        values[i] = cells[i];
    csv_table_add_row(&s->table, values);
    progress_epoch(&s->progress, r, s->train_images);
    s->final_test_acc = r->test_acc;
    if (r->test_acc > s->best_test_acc)
        s->best_test_acc = r->test_acc;
    if (write_layer_rows(s, r->epoch) != 0)
        return 1;
    return csv_table_write(&s->table, s->epochs_path) != 0;
}

static void batch_done(void *ctx, const struct train_position *pos, double loss, int correct,
                       int images, double epoch_seconds)
{
    struct run_state *s = ctx;
    (void)correct;
    progress_batch(&s->progress, pos, loss, images, epoch_seconds);
}

static int write_manifest(const struct run_state *s, const struct train_config *cfg,
                          const struct dataset *train, const struct dataset *test,
                          const struct pipeline *pipe, const char *status, double wall)
{
    const struct train_options *o = s->o;
    char schedule[256], augment[64], path[4200];
    lr_schedule_format(&cfg->schedule, schedule, sizeof schedule);
    format_augment(&pipe->train_aug, augment, sizeof augment);
    struct text t = {0};
    text_printf(&t, "[run]\nrun_id = %s\ncommand = %s\nstatus = %s\n", s->run_id,
                o->command ? o->command : "", status);
    text_printf(&t, "method = %s\nsparsity = %s\nmodel = %s\ndata = %s\ndata_dir = %s\n",
                s->method->method->name, s->sparsity, s->model, o->data, o->data_dir ? o->data_dir : "(default)");
    for (int i = 0; i < s->method->method->n_options; i++)
        text_printf(&t, "method.%s = %g\n", s->method->method->options[i].name,
                    s->method->option[i]);
    text_printf(&t, "train_examples = %d\ntest_examples = %d\ninput = %dx%dx%d\nclasses = %d\n",
                train->count, test->count, train->c, pipe->out_h, pipe->out_w, train->classes);
    text_printf(&t, "seed = %llu\nepochs = %d\nbatch = %d\neval_batch = %d\n",
                (unsigned long long)o->seed, cfg->epochs, cfg->batch, cfg->eval_batch);
    text_printf(&t, "lr_schedule = %s\nmomentum = %g\nnesterov = %d\nweight_decay = %g\n",
                schedule, cfg->sgd.momentum, cfg->sgd.nesterov, cfg->sgd.weight_decay);
    text_printf(&t, "augment = %s\nthreads = %d\ntotal_params = %zu\nactive_params = %zu\n",
                augment, o->threads, s->total_params, active_params(s));
    if (strcmp(status, "running") != 0)
        text_printf(&t, "\n[result]\nfinal_test_acc = %.4f\nbest_test_acc = %.4f\n"
                        "wall_seconds = %.1f\n",
                    s->final_test_acc, s->best_test_acc, wall);
    manifest_build_section(&t);
    snprintf(path, sizeof path, "%s/manifest.ini", o->out);
    const int rc = write_file_atomic(path, t.data, t.len);
    text_free(&t);
    return rc;
}

/* "name=value" against the method's option table, with its range */
static int set_method_option(struct method_run *run, const char *text)
{
    const struct method *m = run->method;
    const char *eq = strchr(text, '=');
    const size_t len = eq ? (size_t)(eq - text) : strlen(text);
    for (int i = 0; i < m->n_options; i++) {
        const struct method_option *opt = &m->options[i];
        if (strlen(opt->name) != len || strncmp(opt->name, text, len) != 0)
            continue;
        char *end;
        const double v = eq ? strtod(eq + 1, &end) : 0.0;
        if (!eq || end == eq + 1 || *end || !(v >= opt->min && v <= opt->max)) {
            fprintf(stderr,
                    "dsrbench train: --method-option '%s': expected %s=VALUE with VALUE from %g "
                    "to %g\n",
                    text, opt->name, opt->min, opt->max);
            return -1;
        }
        run->option[i] = v;
        return 0;
    }
    fprintf(stderr, "dsrbench train: --method-option '%s': method %s has no option '%.*s'%s\n",
            text, m->name, (int)len, text,
            m->n_options ? " (dsrbench methods lists its options)" : " (it takes none)");
    return -1;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int train_run(const struct train_options *o)
{
    char err[1024];
    struct model_spec spec;
    enum data_kind kind;
    struct lr_schedule schedule;
    if (model_parse(o->model, &spec, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench train: --model %s\n", err);
        return 2;
    }
    const struct method *method = method_find(o->method);
    if (!method) {
        fprintf(stderr, "dsrbench train: --method '%s' is unknown (dsrbench methods lists them)\n",
                o->method);
        return 2;
    }
    if (!method->sparse && o->sparsity >= 0) {
        fprintf(stderr, "dsrbench train: --method %s is dense and takes no --sparsity\n",
                method->name);
        return 2;
    }
    if (o->sparsity >= 1.0) {
        fprintf(stderr, "dsrbench train: --sparsity %g: expected a fraction in [0, 1)\n",
                o->sparsity);
        return 2;
    }
    if (data_kind_parse(o->data, &kind) != 0) {
        fprintf(stderr,
                "dsrbench train: --data '%s': expected fashion-mnist, mnist, cifar10 or "
                "imagenet-shards\n",
                o->data);
        return 2;
    }
    /* LeNet-5 has no batch norm and diverges in its first epoch at 0.1 */
    const double base_lr = o->lr > 0 ? o->lr : (spec.family == MODEL_LENET_5 ? 0.05 : 0.1);
    if (lr_schedule_parse(o->lr_schedule, base_lr, o->epochs, &schedule, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench train: %s\n", err);
        return 2;
    }
    struct augment probe = {0};
    if (apply_augment(o->augment, o->crop_pad, &probe) != 0) {
        fprintf(stderr,
                "dsrbench train: --augment '%s': expected default, none, flip, crop or "
                "crop-flip\n",
                o->augment);
        return 2;
    }
    char epochs_path[4200];
    snprintf(epochs_path, sizeof epochs_path, "%s/epochs.csv", o->out);
    if (file_exists(epochs_path)) {
        fprintf(stderr,
                "dsrbench train: --out %s already holds a run (%s); choose another --out or "
                "remove that folder\n",
                o->out, epochs_path);
        return 2;
    }

    omp_set_num_threads(o->threads);
    openblas_set_num_threads(o->threads);

    struct dataset train = {0}, test = {0};
    if (dataset_load_named(kind, o->data_dir, &train, &test, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench train: %s\n", err);
        return 1;
    }
    int status = 1;
    struct net *net = NULL;
    struct trainer trainer = {0};
    struct method_run run = {.method = method,
                             .sparsity = method->sparse ? (o->sparsity >= 0 ? o->sparsity : 0.9)
                                                        : 0.0,
                             .stream = rng_stream(o->seed, RNG_METHOD)};
    for (int i = 0; i < method->n_options; i++)
        run.option[i] = method->options[i].default_value;
    struct run_state s = {.o = o, .method = &run};
    snprintf(s.sparsity, sizeof s.sparsity, "%g", run.sparsity);
    for (int i = 0; i < o->n_method_options; i++) {
        if (set_method_option(&run, o->method_options[i]) != 0) {
            status = 2;
            goto done;
        }
    }
    if (o->train_subset > train.count || o->test_subset > test.count) {
        fprintf(stderr,
                "dsrbench train: --train-subset %d / --test-subset %d exceed the %d / %d "
                "examples of %s\n",
                o->train_subset, o->test_subset, train.count, test.count, o->data);
        status = 2;
        goto done;
    }
    if (o->train_subset > 0)
        dataset_truncate(&train, o->train_subset);
    if (o->test_subset > 0)
        dataset_truncate(&test, o->test_subset);

    struct pipeline pipe;
    data_pipeline_defaults(kind, &train, &pipe);
    apply_augment(o->augment, o->crop_pad, &pipe.train_aug);
    if (o->crop_pad > 0 && pipe.train_aug.crop_pad == 0) {
        fprintf(stderr,
                "dsrbench train: --crop-pad %d has no effect: --augment %s has no random crop "
                "for %s (use --augment crop or crop-flip)\n",
                o->crop_pad, o->augment, o->data);
        status = 2;
        goto done;
    }
    run.in_c = train.c;
    run.in_h = pipe.out_h;
    run.in_w = pipe.out_w;
    run.classes = train.classes;
    run.epochs = o->epochs;
    if (method->configure && method->configure(&run, &spec) != 0)
        goto done;
    net = model_build(&spec, train.c, pipe.out_h, pipe.out_w, train.classes);
    if (!net)
        goto done;
    run.net = net;
    struct rng weight_stream = rng_stream(o->seed, RNG_WEIGHT_INIT);
    net_init_params(net, &weight_stream);
    if (method->sparse && method->mask != MASK_NONE) {
        if (sparse_store_init(&run.store, net) != 0) {
            fprintf(stderr, "dsrbench train: %s has no sparse-eligible tensors\n", o->model);
            goto done;
        }
        struct rng mask_stream = rng_stream(o->seed, RNG_MASK_INIT);
        if (method->mask == MASK_RANDOM)
            sparse_store_random_masks(&run.store, run.sparsity, &mask_stream);
    }
    if (method->init && method->init(&run) != 0)
        goto done;

    const struct train_config cfg = {
        .epochs = o->epochs, .batch = o->batch, .eval_batch = o->eval_batch,
        .schedule = schedule,
        .sgd = {.momentum = (float)o->momentum, .weight_decay = (float)o->weight_decay,
                .nesterov = o->nesterov}};
    if (trainer_init(&trainer, net, &train, &test, &pipe, &cfg, o->seed) != 0) {
        fprintf(stderr, "dsrbench train: out of memory for batch %d\n", o->batch);
        goto done;
    }
    if (make_dirs(o->out) != 0)
        goto done;

    const char *slash = strrchr(o->out, '/');
    snprintf(s.run_id, sizeof s.run_id, "%s", slash && slash[1] ? slash + 1 : o->out);
    model_name(&spec, s.model, sizeof s.model);
    snprintf(s.epochs_path, sizeof s.epochs_path, "%s", epochs_path);
    s.total_params = net_param_count(net);
    s.train_images = train.count;
    csv_table_init(&s.layers, layer_columns, 4);
    snprintf(s.layers_path, sizeof s.layers_path, "%s/layers.csv", o->out);
    progress_init(&s.progress, o->epochs, 0);
    if (write_manifest(&s, &cfg, &train, &test, &pipe, "running", 0.0) != 0)
        goto done;
    fprintf(stderr,
            "dsrbench train: %s, %s (sparsity %s) on %s (%d train / %d test), %zu of %zu "
            "parameters active -> %s\n",
            s.model, method->name, s.sparsity, o->data, train.count, test.count,
            active_params(&s), s.total_params, o->out);

    const double start = monotonic_seconds();
    const struct train_observer observer = {.ctx = &s, .batch_done = batch_done,
                                            .epoch_done = epoch_done};
    const struct train_hooks hooks = method_hooks(&run);
    if (trainer_run(&trainer, &hooks, &observer) != 0) {
        write_manifest(&s, &cfg, &train, &test, &pipe, "failed", monotonic_seconds() - start);
        goto done;
    }
    if (write_manifest(&s, &cfg, &train, &test, &pipe, "complete",
                       monotonic_seconds() - start) != 0)
        goto done;
    status = 0;
done:
    if (method->free_state)
        method->free_state(&run);
    sparse_store_free(&run.store);
    csv_table_free(&s.table);
    csv_table_free(&s.layers);
    trainer_free(&trainer);
    net_free(net);
    dataset_free(&train);
    dataset_free(&test);
    return status;
}
