/* When a periodic reallocation runs, shared by DSR and SET (PAPER.md: "same P
 * schedule and stop epoch as DSR"): the period P doubles at three epochs and
 * reallocation stops at a stop epoch; N_p is the number of weights meant to
 * move per reallocation. A method puts the six options first in its option
 * table (REALLOC_SCHEDULE_OPTIONS) and its own after them, so run->option
 * holds them at the SCHEDULE_* indices. Value 0 asks for PAPER.md's value for
 * the model: WRN-28-2 / CIFAR-10 for every CIFAR-sized model, ResNet-50 /
 * ImageNet for ResNet-50. */
#ifndef DSRBENCH_REALLOC_SCHEDULE_H
#define DSRBENCH_REALLOC_SCHEDULE_H

#include "models.h"
#include "sparse.h"
#include "train.h"

enum schedule_option {
    SCHEDULE_NP,
    SCHEDULE_PERIOD,
    SCHEDULE_P_EPOCH1,
    SCHEDULE_P_EPOCH2,
    SCHEDULE_P_EPOCH3,
    SCHEDULE_STOP_EPOCH,
    SCHEDULE_OPTIONS
};

#define REALLOC_SCHEDULE_OPTIONS                                                                  \
    {"np", 0, 0, 1e9,                                                                             \
     "weights to move per reallocation N_p (0: 20000 for WRN-28-2, scaled by the sparse "         \
     "positions for other CIFAR-sized models; 400000 for ResNet-50)"},                            \
        {"period", 0, 0, 1e9, "reallocation period P in iterations at epoch 0 (0: 100; "          \
                              "ResNet-50 1000)"},                                                 \
        {"p_epoch1", 0, 0, 1e6, "epoch where P first doubles (0: 25)"},                           \
        {"p_epoch2", 0, 0, 1e6, "epoch where P doubles again (0: 80; ResNet-50 50)"},             \
        {"p_epoch3", 0, 0, 1e6, "epoch where P doubles a third time (0: 140; ResNet-50 75)"},     \
        {"stop_epoch", 0, 0, 1e6, "first epoch without reallocation (0: 190; ResNet-50 95)"}

/* PAPER.md's value of a schedule option for the model; 0 for the CIFAR N_p,
 * which depends on the sparse store (realloc_schedule_resolve_np) */
double realloc_schedule_paper_value(enum schedule_option option, const struct model_spec *spec);

/* Replaces the zeros among o[0 .. SCHEDULE_OPTIONS) by PAPER.md's values and
 * checks them: whole numbers, period at least 1, doubling epochs in rising
 * order. 0, or -1 with a message naming the method on stderr. */
int realloc_schedule_configure(const char *method, double *o, const struct model_spec *spec);

/* N_p for a CIFAR-sized model, once the store exists: WRN-28-2's 20000 scaled
 * by the sparse positions, at least 1; leaves an N_p already set alone */
void realloc_schedule_resolve_np(double *o, const struct sparse_store *store);

/* P at this epoch: the base period, doubled at every boundary reached */
long realloc_schedule_period(const double *o, int epoch);

/* a reallocation follows step pos->iteration: it % P == 0, it != 0 and the
 * step's epoch is below the stop epoch */
int realloc_schedule_due(const double *o, const struct train_position *pos);

#endif
