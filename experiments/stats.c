#include "stats.h"

#include <math.h>
#include <stdlib.h>

static int ascending(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct summary summarize(double *x, int n)
{
    struct summary s = {.n = n, .mean = NAN, .std = 0, .median = NAN, .min = NAN, .max = NAN};
    if (n <= 0)
        return s;
    qsort(x, (size_t)n, sizeof *x, ascending);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += x[i];
    s.mean = sum / n;
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (x[i] - s.mean) * (x[i] - s.mean);
    s.std = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
    s.median = n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
    s.min = x[0];
    s.max = x[n - 1];
    return s;
}

double t_quantile_975(double df)
{
    /* exact to three decimals for df 1..30; beyond, 1.96 + 2.4 / df is within 0.003 */
    static const double table[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                     2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                     2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                     2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    if (df < 1)
        df = 1;
    if (df >= 30)
        return 1.96 + 2.4 / df;
    /* Welch's df is fractional: interpolate between the whole ones */
    const int lo = (int)floor(df);
    const double frac = df - lo;
    return frac == 0 ? table[lo - 1] : table[lo - 1] + frac * (table[lo] - table[lo - 1]);
}

struct difference mean_difference(const struct summary *a, const struct summary *b)
{
    struct difference d = {.diff = a->mean - b->mean, .low = NAN, .high = NAN, .df = NAN};
    if (a->n < 2 || b->n < 2)
        return d;
    const double va = a->std * a->std / a->n, vb = b->std * b->std / b->n;
    const double se = sqrt(va + vb);
    if (se == 0) { /* identical values on both sides: no spread to widen the interval */
        d.low = d.high = d.diff;
        d.df = a->n + b->n - 2;
        return d;
    }
    d.df = (va + vb) * (va + vb) / (va * va / (a->n - 1) + vb * vb / (b->n - 1));
    const double half = t_quantile_975(d.df) * se;
    d.low = d.diff - half;
    d.high = d.diff + half;
    return d;
}

static const double *rank_values;
static int by_value(const void *a, const void *b)
{
    const double x = rank_values[*(const int *)a], y = rank_values[*(const int *)b];
    return (x > y) - (x < y);
}

/* ranks 1..n, ties sharing their mean rank; order is n ints of scratch */
static void ranks(const double *v, int n, double *rank, int *order)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    rank_values = v;
    qsort(order, (size_t)n, sizeof *order, by_value);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && v[order[j + 1]] == v[order[i]])
            j++;
        const double mean_rank = 0.5 * (i + j) + 1.0;
        for (int k = i; k <= j; k++)
            rank[order[k]] = mean_rank;
        i = j + 1;
    }
}

double spearman(const double *x, const double *y, int n)
{
    if (n < 3)
        return NAN;
    double *rx = malloc(2 * (size_t)n * sizeof *rx);
    int *order = malloc((size_t)n * sizeof *order);
    if (!rx || !order) {
        free(rx);
        free(order);
        return NAN;
    }
    double *ry = rx + n;
    ranks(x, n, rx, order);
    ranks(y, n, ry, order);
    /* Pearson correlation of the ranks (right with ties, unlike 1 - 6 sum d^2 / ...) */
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
        mx += rx[i];
        my += ry[i];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    free(rx);
    free(order);
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}
