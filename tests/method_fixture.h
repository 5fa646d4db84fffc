/* A method run set up the way train_run sets one up (method_run_setup), for
 * method tests: option defaults, overrides, configure, build, weights from the
 * seed's weight stream, the method's initial mask, init. */
#ifndef DSRBENCH_TEST_METHOD_FIXTURE_H
#define DSRBENCH_TEST_METHOD_FIXTURE_H
#include <stdint.h>

#include "method.h"

struct method_fixture {
    struct net *net;
    struct method_run run;
};

struct method_setup {
    const char *model;      /* NULL: lenet-300-100 on 1x28x28 */
    int c, h, w;            /* 0: 1x28x28 */
    double sparsity;
    uint64_t seed;
    int epochs;             /* of the run; 0: 1000 */
    const char *const *options; /* "name=value", NULL-terminated; NULL for none */
};

/* sets the run up with methods/method_setup.h as a training run does: 0, or
 * -1 when an option, configure or init refused; the fixture is then ready for
 * method_fixture_free either way */
int method_fixture_try(struct method_fixture *f, const struct method *m, struct method_setup s);
/* the same, failing the test unless setup succeeds */
void method_fixture_setup(struct method_fixture *f, const struct method *m, struct method_setup s);
void method_fixture_free(struct method_fixture *f);

/* the option's index in the method's table; fails the test when unknown */
int method_option_index(const struct method *m, const char *name);
/* calls a hook as the trainer would, at this epoch and iteration */
void method_fixture_hook(struct method_fixture *f,
                         void (*hook)(void *, struct net *, const struct train_position *),
                         int epoch, long iteration);
/* a stats column by name (the stats hook resets the per-epoch counts, so
 * read every column of one epoch from one call: call once per column only for
 * values that are not counts); fails the test when the column is missing */
double method_fixture_stat(struct method_fixture *f, const char *name);
/* every column of one epoch from one stats call, values[i] for names[i]; fails
 * the test unless the hook reports exactly these n columns */
void method_fixture_stats(struct method_fixture *f, const char *const *names, double *values,
                          int n);

/* expects the run's method, on its default schedule options, to reallocate
 * on PAPER.md's WRN schedule (P = 100 doubling at epochs 25, 80 and 140, none
 * from epoch 190): one after_step at each of a table of iterations and
 * epochs, each followed by one stats call reading "reallocations" */
void method_fixture_expect_paper_schedule(struct method_fixture *f);

/* every active weight of every sparse tensor from N(0, scale^2): distinct
 * magnitudes, as training leaves them */
void method_fixture_randomize_active(struct method_fixture *f, struct rng *r, float scale);
/* expects the sparse store's invariants to hold (sparse_store_check) */
void method_fixture_expect_consistent(struct method_fixture *f);

/* tensor 0's mask (fc1 of LeNet-300-100, 235200 bytes) after five periodic
 * reallocations (after_step at iterations 100, 200, ..., 500 of epoch 0, the
 * active weights drawn from N(0, 0.05^2) before each) of method m with these
 * options at sparsity 0.9 and seed 8, the method stream seeded method_seed; a
 * copy the caller frees */
uint8_t *method_fixture_mask_after_reallocations(const struct method *m,
                                                 const char *const *options,
                                                 uint64_t method_seed);
/* expects mask_after(1) to equal mask_after(1) and to differ from
 * mask_after(2) over size bytes: the method stream alone decides the masks
 * (the masks are freed here) */
void method_fixture_expect_stream_decides_masks(uint8_t *(*mask_after)(uint64_t method_seed),
                                                size_t size);

#endif
