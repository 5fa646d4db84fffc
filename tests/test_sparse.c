/* The sparse parameter store: PAPER.md's initial mask and parameter counts. */
#include <criterion/criterion.h>
#include <string.h>

#include "models.h"
#include "sparse.h"

static struct net *build(const char *name, int c, int h, int w)
{
    struct model_spec spec;
    char err[256];
    cr_assert_eq(model_parse(name, &spec, err, sizeof err), 0, "%s", err);
    struct net *net = model_build(&spec, c, h, w, 10);
    cr_assert_not_null(net);
    return net;
}

/* learnable parameters at sparsity s: active sparse weights plus every dense one */
static size_t learnable(struct net *net, const struct sparse_store *s)
{
    return net_param_count(net) - s->positions + sparse_store_active(s);
}

Test(sparse, wrn_28_2_counts_match_the_paper_table)
{
    static const double sparsity[5] = {0.9, 0.8, 0.7, 0.6, 0.5};
    static const size_t params[5] = {161229, 306384, 451532, 596687, 741850};
    struct net *net = build("wrn-28-2", 3, 32, 32);
    for (int i = 0; i < 5; i++) {
        struct sparse_store s;
        cr_assert_eq(sparse_store_init(&s, net), 0);
        cr_assert_eq(s.count, 24);
        cr_assert_eq(s.positions, 1451520);
        struct rng mask_stream = rng_stream(1, RNG_MASK_INIT);
        sparse_store_random_masks(&s, sparsity[i], &mask_stream);
        cr_expect_eq(learnable(net, &s), params[i], "s=%.1f: %zu learnable, paper says %zu",
                     sparsity[i], learnable(net, &s), params[i]);
        sparse_store_free(&s);
    }
    net_free(net);
}

Test(sparse, initial_mask_is_per_tensor_exact_seeded_and_zeroes_inactive_values)
{
    struct net *a = build("lenet-300-100", 1, 28, 28), *b = build("lenet-300-100", 1, 28, 28);
    struct sparse_store sa, sb;
    struct rng wa = rng_stream(5, RNG_WEIGHT_INIT), wb = rng_stream(5, RNG_WEIGHT_INIT);
    net_init_params(a, &wa);
    net_init_params(b, &wb);
    cr_assert_eq(sparse_store_init(&sa, a), 0);
    cr_assert_eq(sparse_store_init(&sb, b), 0);
    struct rng ma = rng_stream(5, RNG_MASK_INIT), mb = rng_stream(5, RNG_MASK_INIT);
    sparse_store_random_masks(&sa, 0.98, &ma);
    sparse_store_random_masks(&sb, 0.98, &mb);
    char err[256];
    cr_assert_eq(sparse_store_check(&sa, err, sizeof err), 0, "%s", err);
    for (int t = 0; t < sa.count; t++) {
        const struct param *p = sa.tensors[t].param;
        cr_expect_eq(sa.tensors[t].active, sparse_initial_active(p->count, 0.98));
        cr_expect_eq(memcmp(p->mask, sb.tensors[t].param->mask, p->count), 0,
                     "%s: the same seed drew another mask", p->name);
    }
    /* a different seed draws a different mask */
    struct rng other = rng_stream(6, RNG_MASK_INIT);
    sparse_store_random_masks(&sb, 0.98, &other);
    cr_expect_neq(memcmp(sa.tensors[0].param->mask, sb.tensors[0].param->mask,
                         sa.tensors[0].param->count),
                  0);
    sparse_store_free(&sa);
    sparse_store_free(&sb);
    net_free(a);
    net_free(b);
}

Test(sparse, mask_positions_are_spread_uniformly)
{
    struct net *net = build("lenet-300-100", 1, 28, 28);
    struct sparse_store s;
    cr_assert_eq(sparse_store_init(&s, net), 0);
    const struct param *fc1 = s.tensors[0].param; /* 300 x 784 */
    long per_row_min = 1 << 30, per_row_max = 0;
    struct rng mask_stream = rng_stream(3, RNG_MASK_INIT);
    sparse_store_random_masks(&s, 0.5, &mask_stream);
    for (int r = 0; r < 300; r++) {
        long active = 0;
        for (int c = 0; c < 784; c++)
            active += fc1->mask[r * 784 + c];
        per_row_min = active < per_row_min ? active : per_row_min;
        per_row_max = active > per_row_max ? active : per_row_max;
    }
    /* 392 expected per row, binomial-like std ~14: 6 sigma bounds */
    cr_expect(per_row_min > 392 - 84 && per_row_max < 392 + 84, "rows hold %ld..%ld active",
              per_row_min, per_row_max);
    sparse_store_free(&s);
    net_free(net);
}

Test(sparse, activate_and_deactivate_keep_counts_and_zero_values)
{
    struct net *net = build("lenet-300-100", 1, 28, 28);
    struct rng w = rng_stream(2, RNG_WEIGHT_INIT);
    net_init_params(net, &w);
    struct sparse_store s;
    cr_assert_eq(sparse_store_init(&s, net), 0);
    struct rng m = rng_stream(2, RNG_MASK_INIT);
    sparse_store_random_masks(&s, 0.9, &m);
    struct sparse_tensor *t = &s.tensors[2];
    const size_t before = t->active;
    size_t on = 0, off = 0;
    while (!t->param->mask[on])
        on++;
    while (t->param->mask[off])
        off++;
    sparse_deactivate(t, on);
    sparse_deactivate(t, on); /* twice is harmless */
    sparse_activate(t, off, 0.0f);
    cr_expect_eq(t->active, before);
    cr_expect_eq(t->param->value[on], 0.0f);
    char err[256];
    cr_expect_eq(sparse_store_check(&s, err, sizeof err), 0, "%s", err);
    t->param->value[on] = 1.0f; /* a stray value where the mask is off */
    cr_expect_eq(sparse_store_check(&s, err, sizeof err), -1);
    cr_expect(strstr(err, "fc3.weight") != NULL, "%s", err);
    sparse_store_free(&s);
    net_free(net);
}
