/* The method interface. A method is a const struct of a name, a one-line
 * summary, an option table and hooks, each optional. The engine never names a
 * method: train_run builds the model, lets the method configure and
 * initialize it, and passes the hooks to the shared training loop. Adding a
 * method is one file plus one line in registry.c. */
#ifndef DSRBENCH_METHOD_H
#define DSRBENCH_METHOD_H
#include <stddef.h>
#include <stdint.h>

#include "models.h"
#include "net.h"
#include "rng.h"
#include "sparse.h"
#include "train.h"

#define METHOD_MAX_OPTIONS 8

struct method_option {
    const char *name;
    double default_value;
    double min, max;
    const char *help;
};

/* A finished run another run starts from (--from DIR): its folder and what
 * train_run read and checked in its manifest (complete, same model). */
struct method_source {
    const char *dir;
    const char *method;
    uint64_t seed;
    double sparsity;
};

/* What a method's hooks see: the model, its sparse store (empty for dense
 * methods), the target sparsity, the run's method stream, the resolved option
 * values in table order, and the method's own state. */
struct method_run {
    const struct method *method;
    struct net *net;
    struct sparse_store store;
    double sparsity;
    struct rng stream;
    double option[METHOD_MAX_OPTIONS];
    void *state;
    /* the data's shape, known before configure (thin dense counts parameters) */
    int in_c, in_h, in_w, classes;
    int epochs; /* of the whole run */
    const char *model_name;             /* canonical, as checkpoints record it */
    const struct method_source *source; /* --from; NULL when not given */
};

/* one method-specific column of the per-epoch CSV */
struct method_stat {
    const char *name;
    double value;
};

/* The sparse store a sparse method starts from */
enum method_mask {
    MASK_RANDOM,     /* PAPER.md's initial mask (dsr, set, deepr, static) */
    MASK_ALL_ACTIVE, /* every position active, for methods that prune (compressed) */
    MASK_NONE,       /* no store: the budget shapes the model instead (thin dense, hashednet) */
};

struct method {
    const char *name;
    const char *summary;
    int sparse; /* takes --sparsity (the parameter budget); see mask */
    enum method_mask mask;
    enum { FROM_NONE, FROM_OPTIONAL, FROM_REQUIRED } from; /* reads --from RUN_DIR */
    const char *from_help; /* what it takes from that run, for --help and errors */
    const struct method_option *options;
    int n_options;
    /* may change the model before it is built (thin dense: the width) */
    int (*configure)(struct method_run *run, struct model_spec *spec);
    /* after weights and initial masks exist; 0 or -1 with a message on stderr */
    int (*init)(struct method_run *run);
    void (*before_forward)(void *run, struct net *net, const struct train_position *pos);
    void (*after_backward)(void *run, struct net *net, const struct train_position *pos);
    void (*after_step)(void *run, struct net *net, const struct train_position *pos);
    void (*end_epoch)(void *run, struct net *net, const struct train_position *pos);
    /* after each epoch: fills up to max columns for the epoch just finished
     * (e.g. threshold H, pruned, grown, reallocations), resets the per-epoch
     * counters and returns how many it filled; always the same names */
    int (*stats)(struct method_run *run, struct method_stat *out, int max);
    /* learnable parameters when they are not the unmasked ones (hashednet:
     * the banks plus the dense parameters); NULL: total - inactive positions */
    size_t (*learnable_params)(const struct method_run *run);
    /* Checkpoints, taken at epoch ends: the state that training changes (H,
     * signs, prune count), as bytes. What init rebuilds from the seed
     * (permutations, scratch) is not saved: resume runs init, then loads.
     * state_load returns -1 with a message on stderr when the bytes do not
     * fit this run. NULL state_size: nothing to save. */
    size_t (*state_size)(const struct method_run *run);
    void (*state_save)(const struct method_run *run, void *out);
    int (*state_load)(struct method_run *run, const void *in, size_t size);
    void (*free_state)(struct method_run *run);
};

/* for stats hooks: copies the method's n columns to out, at most max of them */
static inline int method_stats_copy(struct method_stat *out, int max,
                                    const struct method_stat *stats, int n)
{
    const int k = n < max ? n : max;
    for (int i = 0; i < k; i++)
        out[i] = stats[i];
    return k;
}

/* a method or an ablation by name; NULL when unknown */
const struct method *method_find(const char *name);
/* an ablation by name; NULL when unknown or a method */
const struct method *ablation_find(const char *name);
/* the registries, NULL-terminated: the paper's methods, and the RQ3 ablations
 * (methods/ablations/) that retrain or freeze another run's structure */
extern const struct method *const method_registry[];
extern const struct method *const ablation_registry[];
/* train_hooks that call the method's hooks with run as context */
struct train_hooks method_hooks(struct method_run *run);

#endif
