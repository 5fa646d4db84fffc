/* Timed training steps and method-hook replays on synthetic batches. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "layers.h"
#include "method_setup.h"
#include "models.h"
#include "optim.h"
#include "train.h"

enum { BENCH_SEED = 1, BENCH_CLASSES = 10 };

/* the trainer's defaults: SGD with Nesterov momentum 0.9, weight decay 5e-4 */
static const struct sgd_config bench_sgd = {.momentum = 0.9f, .weight_decay = 5e-4f,
                                            .nesterov = 1};
static const float bench_lr = 0.1f;

int bench_run_setup(struct bench_run *b, const struct bench_config *cfg, int epochs)
{
    char err[256];
    struct model_spec spec;
    memset(b, 0, sizeof *b);
    if (cfg->batch < 1 || cfg->batch > BENCH_MAX_BATCH) {
        fprintf(stderr, "dsrbench bench: batch %d: expected 1 to %d\n", cfg->batch,
                BENCH_MAX_BATCH);
        return -1;
    }
    const struct method *m = method_find(cfg->method);
    if (!m) {
        fprintf(stderr, "dsrbench bench: unknown method '%s'\n", cfg->method);
        return -1;
    }
    if (model_parse(cfg->model->name, &spec, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench bench: %s\n", err);
        return -1;
    }
    const struct bench_model *md = cfg->model;
    const struct method_setup_config setup = {
        .method = m, .sparsity = m->sparse ? cfg->sparsity : -1.0, .seed = BENCH_SEED,
        .in_c = md->c, .in_h = md->h, .in_w = md->w, .classes = BENCH_CLASSES,
        .epochs = epochs, .command = "dsrbench bench"};
    if (method_run_setup(&b->run, &spec, &setup) != 0)
        return -1;
    b->net = b->run.net;
    b->net->kernels = cfg->kernels;
    if (net_set_capacity(b->net, cfg->batch) != 0)
        return -1;
    b->hooks = method_hooks(&b->run);
    return 0;
}

void bench_run_free(struct bench_run *b)
{
    method_run_teardown(&b->run);
    b->net = NULL;
}

static void fill_batch(struct net *net, int batch, struct rng *data, int32_t *labels)
{
    const struct activation *in = &net->acts[0];
    const size_t count = (size_t)in->c * in->h * in->w * batch;
    float *x = net_input(net);
    for (size_t i = 0; i < count; i++)
        x[i] = rng_normal(data);
    for (int i = 0; i < batch; i++)
        labels[i] = (int32_t)(rng_uniform(data) * BENCH_CLASSES) % BENCH_CLASSES;
}

static double timed_hook(void (*hook)(void *, struct net *, const struct train_position *),
                         struct bench_run *b, const struct train_position *pos)
{
    if (!hook)
        return 0.0;
    const double start = monotonic_seconds();
    hook(b->hooks.ctx, b->net, pos);
    return monotonic_seconds() - start;
}

struct step_times {
    double step, forward, backward, optimizer, hooks, cpu;
};

/* CPU seconds of the whole process: the work a step took, which other
 * processes on a busy machine do not inflate the way they do wall time */
static double process_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* one training step as engine/train.c takes it, on the batch already in place */
static struct step_times train_step(struct bench_run *b, int batch, const int32_t *labels,
                                    const struct train_position *pos)
{
    struct step_times t = {0};
    struct net *net = b->net;
    const double start = monotonic_seconds(), cpu_start = process_cpu_seconds();
    t.hooks += timed_hook(b->hooks.before_forward, b, pos);
    double mark = monotonic_seconds();
    net_forward(net, batch, 1);
    softmax_cross_entropy(batch, net->classes, net_logits(net), labels, net_logits_grad(net),
                          NULL);
    t.forward = monotonic_seconds() - mark;
    mark = monotonic_seconds();
    net_backward(net, batch);
    t.backward = monotonic_seconds() - mark;
    t.hooks += timed_hook(b->hooks.after_backward, b, pos);
    mark = monotonic_seconds();
    sgd_step(net, &bench_sgd, bench_lr);
    t.optimizer = monotonic_seconds() - mark;
    t.hooks += timed_hook(b->hooks.after_step, b, pos);
    t.step = monotonic_seconds() - start;
    t.cpu = process_cpu_seconds() - cpu_start;
    return t;
}

static const char *kind_name(enum layer_kind kind)
{
    switch (kind) {
    case LAYER_CONV: return "conv";
    case LAYER_BATCHNORM: return "batchnorm";
    case LAYER_RELU: return "relu";
    case LAYER_MAXPOOL: return "maxpool";
    case LAYER_AVGPOOL: return "avgpool";
    case LAYER_GLOBAL_AVGPOOL: return "global_avgpool";
    case LAYER_FLATTEN: return "flatten";
    case LAYER_LINEAR: return "linear";
    case LAYER_ADD: return "add";
    }
    return "?";
}

int bench_measure_steps(const struct bench_config *cfg, struct bench_steps *out)
{
    struct bench_run b;
    int32_t labels[BENCH_MAX_BATCH];
    if (bench_run_setup(&b, cfg, 1) != 0) {
        bench_run_free(&b);
        return -1;
    }
    struct net *net = b.net;
    if (net->n_layers > BENCH_MAX_LAYERS) {
        fprintf(stderr, "dsrbench bench: %s has %d layers; the bench holds %d\n",
                cfg->model->name, net->n_layers, BENCH_MAX_LAYERS);
        bench_run_free(&b);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->layers = net->n_layers;
    for (int i = 0; i < net->n_layers; i++) {
        snprintf(out->layer_name[i], sizeof out->layer_name[i], "%s", net->layers[i].name);
        /* fusions: conv+add and batchnorm+relu do the work of the layer marked (fused) */
        const struct layer *l = &net->layers[i];
        snprintf(out->layer_kind[i], sizeof out->layer_kind[i], "%s%s%s", kind_name(l->kind),
                 l->fused ? " (fused)" : l->relu_out >= 0 ? "+relu" : "",
                 l->residual_out >= 0 ? "+add" : "");
    }
    struct rng data = rng_stream(BENCH_SEED, RNG_DATA_ORDER);
    struct train_position pos = {.batches_per_epoch = cfg->model->batches_per_epoch,
                                 .lr = bench_lr};
    const struct bench_budget *budget = &cfg->budget;
    const double warm_start = monotonic_seconds();
    for (int i = 0; i < budget->warmup_steps ||
                    monotonic_seconds() - warm_start < budget->warmup_seconds;
         i++, pos.iteration++) {
        fill_batch(net, cfg->batch, &data, labels);
        train_step(&b, cfg->batch, labels, &pos);
    }
    double timed = 0.0;
    while (out->steps < budget->max_steps &&
           (out->steps < budget->min_steps || timed < budget->seconds)) {
        const int s = out->steps;
        fill_batch(net, cfg->batch, &data, labels);
        net->layer_forward_seconds = out->layer_forward[s];
        net->layer_backward_seconds = out->layer_backward[s];
        const struct step_times t = train_step(&b, cfg->batch, labels, &pos);
        net->layer_forward_seconds = net->layer_backward_seconds = NULL;
        out->step[s] = t.step;
        out->forward[s] = t.forward;
        out->backward[s] = t.backward;
        out->optimizer[s] = t.optimizer;
        out->hooks[s] = t.hooks;
        out->cpu[s] = t.cpu;
        timed += t.step;
        out->steps++;
        pos.iteration++;
    }
    for (int i = 0; i < net->n_layers; i++) {
        const struct layer *l = &net->layers[i];
        const int weighted = l->kind == LAYER_CONV || l->kind == LAYER_LINEAR;
        snprintf(out->layer_ran[i], sizeof out->layer_ran[i], "%s",
                 !weighted ? "" : l->sparse_ran ? "sparse" : "dense");
        out->sparse_layers += weighted && l->sparse_ran;
    }
    bench_run_free(&b);
    return 0;
}

/* A few real steps with the hooks (so the method's state has seen training),
 * then the hooks alone for every iteration of the first epoch, in the order
 * the trainer calls them, and end_epoch. No forward or backward runs between
 * the replayed hooks: they see the gradients of the last real step. */
int bench_measure_hooks(const struct bench_config *cfg, struct bench_hooks *out)
{
    struct bench_run b;
    int32_t labels[BENCH_MAX_BATCH];
    /* PAPER.md's CIFAR-10 run length, so schedules that depend on it (compressed) resolve */
    if (bench_run_setup(&b, cfg, 200) != 0) {
        bench_run_free(&b);
        return -1;
    }
    struct rng data = rng_stream(BENCH_SEED, RNG_DATA_ORDER);
    struct train_position pos = {.batches_per_epoch = cfg->model->batches_per_epoch,
                                 .lr = bench_lr};
    for (int i = 0; i < cfg->budget.warmup_steps; i++) {
        fill_batch(b.net, cfg->batch, &data, labels);
        train_step(&b, cfg->batch, labels, &pos);
    }
    *out = (struct bench_hooks){.iterations = pos.batches_per_epoch};
    for (pos.batch = 0; pos.batch < pos.batches_per_epoch; pos.batch++) {
        pos.iteration = pos.batch;
        out->before_forward += timed_hook(b.hooks.before_forward, &b, &pos);
        out->after_backward += timed_hook(b.hooks.after_backward, &b, &pos);
        out->after_step += timed_hook(b.hooks.after_step, &b, &pos);
    }
    out->end_epoch = timed_hook(b.hooks.end_epoch, &b, &pos);
    bench_run_free(&b);
    return 0;
}
