#include "run_eta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *zeroed(int n, size_t size)
{
    void *p = calloc((size_t)(n > 0 ? n : 1), size);
    if (!p) {
        fprintf(stderr, "dsrbench: out of memory\n");
        exit(1);
    }
    return p;
}

/* the first run of the same class stands for it */
static void classify(const struct plan *p, int *fine, int *coarse)
{
    for (int i = 0; i < p->count; i++) {
        const struct plan_run *r = &p->runs[i];
        fine[i] = coarse[i] = i;
        for (int j = 0; j < i; j++) {
            const struct plan_run *s = &p->runs[j];
            if (strcmp(r->grid, s->grid) != 0 || strcmp(r->model, s->model) != 0)
                continue;
            if (coarse[i] == i)
                coarse[i] = coarse[j];
            if (strcmp(r->entry, s->entry) == 0) {
                fine[i] = fine[j];
                break;
            }
        }
    }
}

void run_eta_init(struct run_eta *e, const struct plan *p)
{
    const int n = p->count;
    *e = (struct run_eta){.plan = p, .fine = zeroed(n, sizeof(int)),
                          .coarse = zeroed(n, sizeof(int)), .fine_sum = zeroed(n, sizeof(double)),
                          .coarse_sum = zeroed(n, sizeof(double)), .fine_n = zeroed(n, sizeof(int)),
                          .coarse_n = zeroed(n, sizeof(int))};
    classify(p, e->fine, e->coarse);
}

void run_eta_free(struct run_eta *e)
{
    free(e->fine);
    free(e->coarse);
    free(e->fine_sum);
    free(e->coarse_sum);
    free(e->fine_n);
    free(e->coarse_n);
    *e = (struct run_eta){0};
}

void run_eta_observe(struct run_eta *e, int run, double wall_seconds)
{
    const double rate = wall_seconds / e->plan->runs[run].epochs;
    e->fine_sum[e->fine[run]] += rate;
    e->fine_n[e->fine[run]]++;
    e->coarse_sum[e->coarse[run]] += rate;
    e->coarse_n[e->coarse[run]]++;
    e->all_sum += rate;
    e->all_n++;
}

static double expected(const struct run_eta *e, int run)
{
    const int f = e->fine[run], c = e->coarse[run];
    const double rate = e->fine_n[f]     ? e->fine_sum[f] / e->fine_n[f]
                        : e->coarse_n[c] ? e->coarse_sum[c] / e->coarse_n[c]
                                         : e->all_sum / e->all_n;
    return rate * e->plan->runs[run].epochs;
}

double run_eta_left(const struct run_eta *e, const char *waiting, const double *elapsed,
                    int jobs)
{
    if (e->all_n == 0)
        return -1;
    double left = 0;
    int runs = 0;
    for (int i = 0; i < e->plan->count; i++) {
        if (waiting[i])
            left += expected(e, i);
        else if (elapsed[i] >= 0 && expected(e, i) > elapsed[i])
            left += expected(e, i) - elapsed[i];
        runs += waiting[i] || elapsed[i] >= 0;
    }
    return left / (runs < jobs ? (runs > 0 ? runs : 1) : jobs);
}

void format_duration(double seconds, char *out, size_t len)
{
    const long s = (long)(seconds + 0.5);
    if (s < 60)
        snprintf(out, len, "%lds", s);
    else if (s < 3600)
        snprintf(out, len, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(out, len, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
}
