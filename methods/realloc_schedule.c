#include "realloc_schedule.h"

#include <math.h>
#include <stdio.h>

/* PAPER.md's setups: WRN-28-2 / CIFAR-10 and ResNet-50 / ImageNet. The CIFAR
 * N_p depends on the sparse store, so realloc_schedule_resolve_np fills it. */
static const double cifar_values[SCHEDULE_OPTIONS] = {
    [SCHEDULE_NP] = 0,          [SCHEDULE_PERIOD] = 100,  [SCHEDULE_P_EPOCH1] = 25,
    [SCHEDULE_P_EPOCH2] = 80,   [SCHEDULE_P_EPOCH3] = 140, [SCHEDULE_STOP_EPOCH] = 190};
static const double imagenet_values[SCHEDULE_OPTIONS] = {
    [SCHEDULE_NP] = 400000,     [SCHEDULE_PERIOD] = 1000, [SCHEDULE_P_EPOCH1] = 25,
    [SCHEDULE_P_EPOCH2] = 50,   [SCHEDULE_P_EPOCH3] = 75, [SCHEDULE_STOP_EPOCH] = 95};
/* N_p for WRN-28-2 and its sparse positions: other CIFAR models scale N_p by size */
#define WRN_28_2_NP 20000.0
#define WRN_28_2_POSITIONS 1451520.0

double realloc_schedule_paper_value(enum schedule_option option, const struct model_spec *spec)
{
    return (spec->family == MODEL_RESNET_50 ? imagenet_values : cifar_values)[option];
}

static int is_count(double v)
{
    return v >= 0 && v == floor(v);
}

int realloc_schedule_configure(const char *method, double *o, const struct model_spec *spec)
{
    for (int i = 0; i < SCHEDULE_OPTIONS; i++)
        if (o[i] == 0)
            o[i] = realloc_schedule_paper_value((enum schedule_option)i, spec);
    int whole = o[SCHEDULE_PERIOD] >= 1;
    for (int i = 0; i < SCHEDULE_OPTIONS; i++)
        whole = whole && is_count(o[i]);
    if (!whole) {
        fprintf(stderr, "dsrbench: %s: np %g, period %g, p_epoch1..3 %g %g %g and stop_epoch "
                        "%g must be whole numbers, period at least 1\n",
                method, o[SCHEDULE_NP], o[SCHEDULE_PERIOD], o[SCHEDULE_P_EPOCH1],
                o[SCHEDULE_P_EPOCH2], o[SCHEDULE_P_EPOCH3], o[SCHEDULE_STOP_EPOCH]);
        return -1;
    }
    if (o[SCHEDULE_P_EPOCH1] > o[SCHEDULE_P_EPOCH2] || o[SCHEDULE_P_EPOCH2] > o[SCHEDULE_P_EPOCH3]) {
        fprintf(stderr, "dsrbench: %s: p_epoch1..3 = %g %g %g: expected them in rising order\n",
                method, o[SCHEDULE_P_EPOCH1], o[SCHEDULE_P_EPOCH2], o[SCHEDULE_P_EPOCH3]);
        return -1;
    }
    return 0;
}

void realloc_schedule_resolve_np(double *o, const struct sparse_store *store)
{
    if (o[SCHEDULE_NP] != 0)
        return;
    const double np = round(WRN_28_2_NP * (double)store->positions / WRN_28_2_POSITIONS);
    o[SCHEDULE_NP] = np < 1 ? 1 : np;
}

long realloc_schedule_period(const double *o, int epoch)
{
    long period = (long)o[SCHEDULE_PERIOD];
    for (int b = SCHEDULE_P_EPOCH1; b <= SCHEDULE_P_EPOCH3; b++)
        if (epoch >= (int)o[b])
            period *= 2;
    return period;
}

int realloc_schedule_due(const double *o, const struct train_position *pos)
{
    return pos->iteration != 0 && pos->epoch < (int)o[SCHEDULE_STOP_EPOCH] &&
           pos->iteration % realloc_schedule_period(o, pos->epoch) == 0;
}
