/* The report's statistics against values worked out by hand and with numpy
 * (var(ddof=1), the Welch-Satterthwaite formula, corrcoef of mean ranks). */
#include <criterion/criterion.h>
#include <math.h>

#include "stats.h"

Test(stats, summary_of_a_small_sample)
{
    double x[] = {3, 1, 4, 1, 5};
    const struct summary s = summarize(x, 5);
    cr_assert_eq(s.n, 5);
    cr_assert_float_eq(s.mean, 2.8, 1e-12);
    cr_assert_float_eq(s.median, 3, 1e-12);
    cr_assert_float_eq(s.std, sqrt(12.8 / 4), 1e-12); /* sum of squares 12.8 */
    cr_assert_eq(s.min, 1);
    cr_assert_eq(s.max, 5);
    double even[] = {4, 1, 3, 2};
    cr_assert_float_eq(summarize(even, 4).median, 2.5, 1e-12);
    double one[] = {7};
    cr_assert_eq(summarize(one, 1).std, 0);
}

Test(stats, t_quantiles)
{
    cr_assert_float_eq(t_quantile_975(1), 12.706, 1e-9);
    cr_assert_float_eq(t_quantile_975(4), 2.776, 1e-9);
    cr_assert_float_eq(t_quantile_975(4.5), 0.5 * (2.776 + 2.571), 1e-9);
    cr_assert_float_eq(t_quantile_975(60), 2.000, 0.003);
    cr_assert_float_eq(t_quantile_975(1000), 1.962, 0.003);
}

Test(stats, welch_interval_matches_scipy)
{
    /* a = 93.1 93.5 93.3 (variance 0.04), b = 92.0 92.6 92.1 (0.10333): Welch's df
     * (va + vb)^2 / (va^2 / 2 + vb^2 / 2) with v = variance / 3 is 3.3466 */
    double a[] = {93.1, 93.5, 93.3}, b[] = {92.0, 92.6, 92.1};
    const struct summary sa = summarize(a, 3), sb = summarize(b, 3);
    const struct difference d = mean_difference(&sa, &sb);
    cr_assert_float_eq(d.diff, 93.3 - 92.233333333, 1e-6);
    cr_assert_float_eq(d.df, 3.3466063, 1e-6);
    const double se = sqrt(0.04 / 3 + 0.103333333 / 3);
    const double t = t_quantile_975(d.df);
    cr_assert_float_eq(t, 3.182 + 0.3466063 * (2.776 - 3.182), 1e-6);
    cr_assert_float_eq(d.low, d.diff - t * se, 1e-9);
    cr_assert_float_eq(d.high, d.diff + t * se, 1e-9);
    cr_assert(d.low > 0, "the interval should exclude 0");
    double single[] = {90};
    const struct summary s1 = summarize(single, 1);
    cr_assert(isnan(mean_difference(&sa, &s1).low));
}

Test(stats, spearman_with_ties)
{
    const double x[] = {1, 2, 3, 4, 5}, y[] = {2, 4, 6, 8, 10}, r[] = {5, 4, 3, 2, 1};
    cr_assert_float_eq(spearman(x, y, 5), 1.0, 1e-12);
    cr_assert_float_eq(spearman(x, r, 5), -1.0, 1e-12);
    /* ranks of {1, 3, 2, 3, 5} are {1, 3.5, 2, 3.5, 5}; their Pearson correlation with
     * 1..5 is 0.8207826816681234 (numpy.corrcoef) */
    const double t[] = {1, 3, 2, 3, 5};
    cr_assert_float_eq(spearman(x, t, 5), 0.8207826816681234, 1e-12);
    const double flat[] = {1, 1, 1, 1, 1};
    cr_assert(isnan(spearman(x, flat, 5)));
    cr_assert(isnan(spearman(x, y, 2)));
}
