/* train_run in steps: resolve the options, load the data, build the model and
 * method, start a new run or resume one, train. Each step returns an exit
 * status (0 to go on) and leaves what it made in struct run for run_free. */
#define _DEFAULT_SOURCE /* flock */
#include "train_run.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "method_setup.h"
#include "run.h"

void train_options_defaults(struct train_options *o)
{
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (struct train_options){.model = "lenet-300-100", .method = "dense", .sparsity = -1,
                                .data = "fashion-mnist", .epochs = 10,
                                .batch = 100, .eval_batch = 500, .lr_schedule = "scaled",
                                .lr = 0, .momentum = 0.9, .nesterov = 1,
                                .weight_decay = 5e-4, .seed = 1,
                                .threads = cores > 0 ? (int)cores : 1,
                                .kernels = NET_KERNELS_DENSE, .augment = "default",
                                .save_initial = 1, .save_final = 1, .checkpoint_every = 1};
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

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

/* a new run never writes into a folder that holds another run's results */
static int check_out_is_free(const char *out)
{
    static const char *const files[] = {"epochs.csv", "initial.ckpt", "last.ckpt", "final.ckpt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        if (file_exists(path)) {
            fprintf(stderr,
                    "dsrbench train: --out %s already holds a run (%s); continue it with "
                    "--resume %s, choose another --out or remove that folder\n",
                    out, path, out);
            return -1;
        }
    }
    return 0;
}

/* the options that need no data: model, method, sparsity, data set, schedule, augmentation */
static int resolve(struct run *r)
{
    const struct train_options *o = r->o;
    char err[1024];
    if (model_parse(o->model, &r->spec, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench train: --model %s\n", err);
        return 2;
    }
    r->method = method_find(o->method);
    if (!r->method) {
        fprintf(stderr, "dsrbench train: --method '%s' is unknown (dsrbench methods lists them)\n",
                o->method);
        return 2;
    }
    if (data_kind_parse(o->data, &r->kind) != 0) {
        fprintf(stderr,
                "dsrbench train: --data '%s': expected fashion-mnist, mnist, cifar10 or "
                "imagenet-shards\n",
                o->data);
        return 2;
    }
    /* LeNet-5 has no batch norm and diverges in its first epoch at 0.1 */
    const double base_lr = o->lr > 0 ? o->lr : (r->spec.family == MODEL_LENET_5 ? 0.05 : 0.1);
    r->cfg = (struct train_config){
        .epochs = o->epochs, .batch = o->batch, .eval_batch = o->eval_batch,
        .sgd = {.momentum = (float)o->momentum, .weight_decay = (float)o->weight_decay,
                .nesterov = o->nesterov}};
    if (lr_schedule_parse(o->lr_schedule, base_lr, o->epochs, &r->cfg.schedule, err,
                          sizeof err) != 0) {
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
    const int source = run_read_source(r);
    if (source != 0)
        return source;
    if (!o->resume && check_out_is_free(o->out) != 0)
        return 2;
    /* the folder's name, also when given as "runs/x/" */
    size_t len = strlen(o->out);
    while (len > 1 && o->out[len - 1] == '/')
        len--;
    size_t first = len;
    while (first > 0 && o->out[first - 1] != '/')
        first--;
    snprintf(r->run_id, sizeof r->run_id, "%.*s", (int)(len - first), o->out + first);
    /* the folder's name is the run's id in every CSV row; "/" or ".." has none */
    if (r->run_id[0] == '\0' || strcmp(r->run_id, ".") == 0 || strcmp(r->run_id, "..") == 0) {
        fprintf(stderr, "dsrbench train: --out %s: expected a folder whose name names the run "
                        "(e.g. runs/dsr_s0.9)\n", o->out);
        return 2;
    }
    return 0;
}

static int load_data(struct run *r)
{
    const struct train_options *o = r->o;
    char err[1024];
    omp_set_num_threads(o->threads);
    openblas_set_num_threads(o->threads);
    if (dataset_load_named(r->kind, o->data_dir, &r->train, &r->test, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench train: %s\n", err);
        return 1;
    }
    if (o->train_subset > r->train.count || o->test_subset > r->test.count) {
        fprintf(stderr,
                "dsrbench train: --train-subset %d / --test-subset %d exceed the %d / %d "
                "examples of %s\n",
                o->train_subset, o->test_subset, r->train.count, r->test.count, o->data);
        return 2;
    }
    if (o->train_subset > 0)
        dataset_truncate(&r->train, o->train_subset);
    if (o->test_subset > 0)
        dataset_truncate(&r->test, o->test_subset);
    data_pipeline_defaults(r->kind, &r->train, &r->pipe);
    apply_augment(o->augment, o->crop_pad, &r->pipe.train_aug);
    if (o->crop_pad > 0 && r->pipe.train_aug.crop_pad == 0) {
        fprintf(stderr,
                "dsrbench train: --crop-pad %d has no effect: --augment %s has no random crop "
                "for %s (use --augment crop or crop-flip)\n",
                o->crop_pad, o->augment, o->data);
        return 2;
    }
    return 0;
}

/* the model, its weights and masks from the seed, the method's state and the
 * trainer: exactly what a new run starts from, and what a resume overwrites */
static int build(struct run *r)
{
    const struct train_options *o = r->o;
    const struct method_setup_config cfg = {
        .method = r->method,
        .sparsity = r->sparsity_from_source ? r->source.sparsity : o->sparsity,
        .options = o->method_options, .n_options = o->n_method_options, .seed = o->seed,
        .in_c = r->train.c, .in_h = r->pipe.out_h, .in_w = r->pipe.out_w,
        .classes = r->train.classes, .epochs = o->epochs, .width_factor = o->width_factor,
        .source = o->from ? &r->source : NULL, .model_name = r->model,
        .command = "dsrbench train"};
    const int status = method_run_setup(&r->method_run, &r->spec, &cfg);
    r->net = r->method_run.net;
    if (r->net)
        r->net->kernels = o->kernels;
    snprintf(r->sparsity, sizeof r->sparsity, "%g", r->method_run.sparsity);
    if (status != 0)
        return status;
    if (trainer_init(&r->trainer, r->net, &r->train, &r->test, &r->pipe, &r->cfg, o->seed) != 0) {
        fprintf(stderr, "dsrbench train: out of memory for batch %d\n", o->batch);
        return 1;
    }
    r->total_params = net_param_count(r->net);
    r->config = run_config_text(r);
    return 0;
}

static void announce(const struct run *r, const char *what)
{
    fprintf(stderr,
            "dsrbench train: %s %s, %s (sparsity %s) on %s (%d train / %d test), %zu of %zu "
            "parameters active -> %s\n",
            what, r->model, r->method->name, r->sparsity, r->o->data, r->train.count,
            r->test.count, run_active_params(r), r->total_params, r->o->out);
}

/* One process per run folder: a second one (a resume of a run that is still
 * going, a runner started twice) would race it on every file. The lock goes
 * away with the process, however it ends. */
static int lock_folder(struct run *r)
{
    char path[4200];
    run_path(r, ".dsrbench.lock", path, sizeof path);
    r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (r->lock_fd < 0) {
        fprintf(stderr, "dsrbench train: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (flock(r->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "dsrbench train: %s is in use by another dsrbench process (%s is "
                        "locked)\n", r->o->out, path);
        return 2;
    }
    return 0;
}

static int start(struct run *r)
{
    if (make_dirs(r->o->out) != 0)
        return 1;
    /* checked again under the lock: another run may have started here meanwhile */
    const int locked = lock_folder(r);
    if (locked != 0)
        return locked;
    if (check_out_is_free(r->o->out) != 0)
        return 2;
    if (run_write_manifest(r, "running") != 0)
        return 1;
    if (r->o->save_initial && run_save_checkpoint(r, "initial.ckpt") != 0)
        return 1;
    progress_init(&r->progress, r->cfg.epochs, 0);
    announce(r, "training");
    return 0;
}

static int resume(struct run *r)
{
    const int next_epoch = r->o->resume->meta.next_epoch;
    const int locked = lock_folder(r);
    if (locked != 0)
        return locked;
    if (run_restore_checkpoint(r) != 0 || run_restore_results(r, next_epoch) != 0)
        return 1;
    r->resumed_from = next_epoch;
    if (run_write_manifest(r, "running") != 0)
        return 1;
    progress_init(&r->progress, r->cfg.epochs, next_epoch);
    char what[64];
    snprintf(what, sizeof what, "resuming at epoch %d of %d:", next_epoch + 1, r->cfg.epochs);
    announce(r, what);
    return 0;
}

static int epoch_done(void *ctx, const struct epoch_result *result)
{
    struct run *r = ctx;
    if (run_record_epoch(r, result) != 0)
        return 1;
    const int done = r->trainer.next_epoch, every = r->o->checkpoint_every;
    if (every > 0 && (done % every == 0 || done == r->cfg.epochs))
        return run_save_checkpoint(r, "last.ckpt") != 0;
    return 0;
}

static void batch_done(void *ctx, const struct train_position *pos, double loss, int correct,
                       int images, double epoch_seconds)
{
    struct run *r = ctx;
    (void)correct;
    progress_batch(&r->progress, pos, loss, images, epoch_seconds);
}

static int train(struct run *r)
{
    const struct train_observer observer = {.ctx = r, .batch_done = batch_done,
                                            .epoch_done = epoch_done};
    const struct train_hooks hooks = method_hooks(&r->method_run);
    if (trainer_run(&r->trainer, &hooks, &observer) != 0 ||
        (r->o->save_final && run_save_checkpoint(r, "final.ckpt") != 0)) {
        run_write_manifest(r, "failed");
        return 1;
    }
    return run_write_manifest(r, "complete") != 0;
}

static void run_free(struct run *r)
{
    method_run_teardown(&r->method_run); /* frees the net too */
    csv_table_free(&r->epochs);
    csv_table_free(&r->layers);
    trainer_free(&r->trainer);
    dataset_free(&r->train);
    dataset_free(&r->test);
    free(r->config);
    if (r->lock_fd >= 0)
        close(r->lock_fd);
}

int train_run(const struct train_options *o)
{
    struct run r = {.o = o, .resumed_from = -1, .lock_fd = -1};
    int status = resolve(&r);
    if (status == 0)
        status = load_data(&r);
    if (status == 0)
        status = build(&r);
    if (status == 0)
        status = o->resume ? resume(&r) : start(&r);
    if (status == 0)
        status = train(&r);
    run_free(&r);
    return status;
}

int train_run_resume_point(const char *dir, char *path, size_t len)
{
    static const char *const newest_first[] = {"last.ckpt", "initial.ckpt"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, len, "%s/%s", dir, newest_first[i]);
        if (file_exists(path))
            return 0;
    }
    return -1;
}

static void find_status(void *ctx, const char *section, const char *name, const char *value)
{
    int *complete = ctx;
    if (strcmp(section, "run") == 0 && strcmp(name, "status") == 0)
        *complete = strcmp(value, "complete") == 0;
}

int train_run_is_complete(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.ini", dir);
    int complete = 0;
    return manifest_read(path, find_status, &complete) == 0 && complete;
}
