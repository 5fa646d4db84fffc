/* The training loop shared by every method: shuffled mini-batches, forward,
 * mean cross-entropy, backward (masked gradients), SGD step (masked weights),
 * and evaluation on the test split after every epoch. Methods plug in through
 * train_hooks; the loop knows none of them by name. */
#ifndef DSRBENCH_TRAIN_H
#define DSRBENCH_TRAIN_H
#include <stdint.h>

#include "dataset.h"
#include "net.h"
#include "optim.h"
#include "rng.h"
#include "schedule.h"

struct train_config {
    int epochs;
    int batch;
    int eval_batch;
    struct lr_schedule schedule;
    struct sgd_config sgd;
};

struct train_position {
    int epoch;             /* from 0 */
    int batch;             /* within the epoch, from 0 */
    int batches_per_epoch;
    long iteration;        /* optimizer steps taken before this one, over all epochs */
    double lr;
};

/* Method hooks, each optional; ctx is the method's own state. */
struct train_hooks {
    void *ctx;
    void (*before_forward)(void *ctx, struct net *net, const struct train_position *pos);
    void (*after_backward)(void *ctx, struct net *net, const struct train_position *pos);
    void (*after_step)(void *ctx, struct net *net, const struct train_position *pos);
    void (*end_epoch)(void *ctx, struct net *net, const struct train_position *pos);
};

struct epoch_result {
    int epoch;
    double lr;
    double train_loss, train_acc; /* mean over the epoch's batches; accuracy in % */
    double test_loss, test_acc;
    double seconds;               /* wall time of training plus evaluation */
    double method_seconds;        /* of that, inside the method's hooks */
};

/* Progress reporting, each optional. */
struct train_observer {
    void *ctx;
    void (*batch_done)(void *ctx, const struct train_position *pos, double loss, int correct,
                       int images, double epoch_seconds);
    /* non-zero return stops training after this epoch (e.g. a results write failed) */
    int (*epoch_done)(void *ctx, const struct epoch_result *result);
};

struct trainer {
    struct net *net;
    const struct dataset *train, *test;
    const struct pipeline *pipeline;
    struct train_config cfg;
    struct rng order_stream, augment_stream;
    int32_t *order, *labels;
    int next_epoch;
    long iteration;
};

/* seconds on a monotonic clock, for timing runs and epochs */
double monotonic_seconds(void);

/* capacity of the net is set to max(batch, eval_batch) */
int trainer_init(struct trainer *t, struct net *net, const struct dataset *train,
                 const struct dataset *test, const struct pipeline *pipeline,
                 const struct train_config *cfg, uint64_t seed);
void trainer_free(struct trainer *t);
/* trains epochs next_epoch .. cfg.epochs-1; returns 0, or the observer's stop value */
int trainer_run(struct trainer *t, const struct train_hooks *hooks,
                const struct train_observer *observer);
/* mean loss and accuracy (%) on a whole split, in evaluation mode */
void evaluate(struct net *net, const struct dataset *d, const struct pipeline *p, int batch,
              int32_t *labels_scratch, double *loss, double *accuracy);

#endif
