#include "train.h"

#include <stdlib.h>
#include <time.h>

double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int trainer_init(struct trainer *t, struct net *net, const struct dataset *train,
                 const struct dataset *test, const struct pipeline *pipeline,
                 const struct train_config *cfg, uint64_t seed)
{
    *t = (struct trainer){.net = net, .train = train, .test = test, .pipeline = pipeline,
                          .cfg = *cfg};
    t->order_stream = rng_stream(seed, RNG_DATA_ORDER);
    t->augment_stream = rng_stream(seed, RNG_AUGMENT);
    const int capacity = cfg->batch > cfg->eval_batch ? cfg->batch : cfg->eval_batch;
    t->order = malloc(sizeof *t->order * (size_t)train->count);
    t->labels = malloc(sizeof *t->labels * (size_t)capacity);
    if (!t->order || !t->labels || net_set_capacity(net, capacity) != 0) {
        trainer_free(t);
        return -1;
    }
    return 0;
}

void trainer_free(struct trainer *t)
{
    free(t->order);
    free(t->labels);
    t->order = t->labels = NULL;
}

void evaluate(struct net *net, const struct dataset *d, const struct pipeline *p, int batch,
              int32_t *labels_scratch, double *loss, double *accuracy)
{
    double total_loss = 0.0;
    long correct = 0;
    for (int first = 0; first < d->count; first += batch) {
        const int n = d->count - first < batch ? d->count - first : batch;
        batch_assemble(d, p, 0, NULL, first, n, NULL, net_input(net), labels_scratch);
        net_forward(net, n, 0);
        int right = 0;
        total_loss += n * softmax_cross_entropy(n, net->classes, net_logits(net), labels_scratch,
                                                NULL, &right);
        correct += right;
    }
    *loss = total_loss / d->count;
    *accuracy = 100.0 * (double)correct / d->count;
}

/* returns the seconds the hook took, so a method's overhead is measured */
static double call_hook(void (*hook)(void *, struct net *, const struct train_position *),
                        const struct train_hooks *hooks, struct net *net,
                        const struct train_position *pos)
{
    if (!hooks || !hook)
        return 0.0;
    const double start = monotonic_seconds();
    hook(hooks->ctx, net, pos);
    return monotonic_seconds() - start;
}

static void train_epoch(struct trainer *t, int epoch, const struct train_hooks *hooks,
                        const struct train_observer *observer, struct epoch_result *result)
{
    const struct dataset *d = t->train;
    const int batch = t->cfg.batch;
    struct train_position pos = {.epoch = epoch,
                                 .batches_per_epoch = (d->count + batch - 1) / batch,
                                 .lr = lr_at_epoch(&t->cfg.schedule, epoch)};
    /* a fresh permutation every epoch, drawn only from the data-order stream */
    for (int i = 0; i < d->count; i++)
        t->order[i] = i;
    rng_shuffle(&t->order_stream, t->order, (size_t)d->count);

    const double start = monotonic_seconds();
    double loss_sum = 0.0, hook_seconds = 0.0;
    long correct_sum = 0;
    for (pos.batch = 0; pos.batch < pos.batches_per_epoch; pos.batch++) {
        const int first = pos.batch * batch;
        const int n = d->count - first < batch ? d->count - first : batch;
        pos.iteration = t->iteration;
        batch_assemble(d, t->pipeline, 1, t->order, first, n, &t->augment_stream,
                       net_input(t->net), t->labels);
        hook_seconds += call_hook(hooks ? hooks->before_forward : NULL, hooks, t->net, &pos);
        net_forward(t->net, n, 1);
        int correct = 0;
        const double loss = softmax_cross_entropy(n, t->net->classes, net_logits(t->net),
                                                  t->labels, net_logits_grad(t->net), &correct);
        net_backward(t->net, n);
        hook_seconds += call_hook(hooks ? hooks->after_backward : NULL, hooks, t->net, &pos);
        sgd_step(t->net, &t->cfg.sgd, (float)pos.lr);
        t->iteration++;
        hook_seconds += call_hook(hooks ? hooks->after_step : NULL, hooks, t->net, &pos);
        loss_sum += loss * n;
        correct_sum += correct;
        if (observer && observer->batch_done)
            observer->batch_done(observer->ctx, &pos, loss, correct, n, monotonic_seconds() - start);
    }
    hook_seconds += call_hook(hooks ? hooks->end_epoch : NULL, hooks, t->net, &pos);
    result->epoch = epoch;
    result->lr = pos.lr;
    result->train_loss = loss_sum / d->count;
    result->train_acc = 100.0 * (double)correct_sum / d->count;
    evaluate(t->net, t->test, t->pipeline, t->cfg.eval_batch, t->labels, &result->test_loss,
             &result->test_acc);
    result->seconds = monotonic_seconds() - start;
    result->method_seconds = hook_seconds;
}

int trainer_run(struct trainer *t, const struct train_hooks *hooks,
                const struct train_observer *observer)
{
    while (t->next_epoch < t->cfg.epochs) {
        struct epoch_result result;
        train_epoch(t, t->next_epoch, hooks, observer, &result);
        t->next_epoch++;
        if (observer && observer->epoch_done) {
            const int stop = observer->epoch_done(observer->ctx, &result);
            if (stop)
                return stop;
        }
    }
    return 0;
}
