/* The statistics the report states findings with: summaries over seeds, the
 * difference of two means with its 95% interval (Welch), and Spearman's rank
 * correlation (RQ4: are larger / deeper tensors sparser?). */
#ifndef DSRBENCH_STATS_H
#define DSRBENCH_STATS_H
#include <stddef.h>

struct summary {
    int n;
    double mean, std, median, min, max; /* std: sample (n - 1); 0 when n < 2 */
};

/* x is reordered (sorted) */
struct summary summarize(double *x, int n);

struct difference {
    double diff;       /* mean(a) - mean(b) */
    double low, high;  /* 95% interval; NaN when either side has fewer than 2 values */
    double df;         /* Welch-Satterthwaite degrees of freedom */
};

struct difference mean_difference(const struct summary *a, const struct summary *b);

/* two-sided 95% quantile of Student's t with df degrees of freedom (df >= 1) */
double t_quantile_975(double df);

/* Spearman's rho of x and y (ties get their mean rank); NaN when n < 3 or a
 * side is constant */
double spearman(const double *x, const double *y, int n);

#endif
