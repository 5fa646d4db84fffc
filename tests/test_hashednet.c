/* HashedNet (PAPER.md "Baselines"): bank sizes, the tying after init and
 * after SGD steps, bank gradients as sums over their positions (directly and
 * by finite differences of the loss), and the learnable count. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "method_fixture.h"
#include "optim.h"
#include "testutil.h"

extern const struct method method_hashednet;

#define BATCH 8
#define CLASSES 10
#define LENET_POSITIONS 266200
#define LENET_DENSE 410

/* one thread: the finite differences need the same rounding on every pass */
static void use_one_thread(void)
{
    omp_set_num_threads(1);
}

TestSuite(hashednet, .init = use_one_thread);

static void setup(struct method_fixture *f, double sparsity, uint64_t seed)
{
    method_fixture_setup(f, &method_hashednet,
                         (struct method_setup){.sparsity = sparsity, .seed = seed});
}

/* Positions grouped by bank entry: group[i] is the representative position
 * whose value i takes when before_forward materializes the tying. Read by
 * writing every position's own index into the weights (exact in float),
 * materializing, and restoring the weights. */
struct tying {
    int32_t *group;
    size_t banks; /* distinct representatives */
};

static struct tying read_tying(struct method_fixture *f, int l)
{
    struct param *p = f->run.store.tensors[l].param;
    struct tying t = {.group = malloc(sizeof(int32_t) * p->count)};
    float *saved = malloc(sizeof(float) * p->count);
    cr_assert(t.group && saved && p->count < (1u << 24));
    memcpy(saved, p->value, sizeof(float) * p->count);
    for (size_t i = 0; i < p->count; i++)
        p->value[i] = (float)i;
    method_fixture_hook(f, method_hashednet.before_forward, 0, 0);
    for (size_t i = 0; i < p->count; i++) {
        t.group[i] = (int32_t)p->value[i];
        t.banks += (size_t)t.group[i] == i;
    }
    memcpy(p->value, saved, sizeof(float) * p->count);
    free(saved);
    return t;
}

static struct param *tensor(struct method_fixture *f, int l)
{
    return f->run.store.tensors[l].param;
}

Test(hashednet, bank_sizes_are_rounded_budgets_and_every_position_is_used)
{
    /* round((1-s) N): at s = 0.9996 fc1 keeps 94 (94.08), fc2 12, fc3 1 (0.4 rounds to 0) */
    const struct {
        double sparsity;
        size_t banks[3];
    } cases[] = {{0.9, {23520, 3000, 100}}, {0.99, {2352, 300, 10}}, {0.9996, {94, 12, 1}}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct method_fixture f;
        setup(&f, cases[c].sparsity, 1);
        size_t total = 0;
        for (int l = 0; l < 3; l++) {
            const struct param *p = tensor(&f, l);
            struct tying t = read_tying(&f, l);
            for (size_t i = 0; i < p->count; i++)
                cr_assert_eq(p->value[i], p->value[t.group[i]], "%s[%zu] differs from its entry at init",
                             p->name, i);
            cr_expect_eq(t.banks, cases[c].banks[l], "s %g %s: %zu shared values, want %zu",
                         cases[c].sparsity, p->name, t.banks, cases[c].banks[l]);
            /* every entry serves floor or ceil of N / B positions */
            size_t *uses = calloc(p->count, sizeof *uses);
            for (size_t i = 0; i < p->count; i++)
                uses[t.group[i]]++;
            const size_t lo = p->count / t.banks, hi = (p->count + t.banks - 1) / t.banks;
            for (size_t i = 0; i < p->count; i++)
                cr_expect(uses[i] == 0 || (uses[i] >= lo && uses[i] <= hi),
                          "%s: an entry serves %zu positions, want %zu..%zu", p->name, uses[i],
                          lo, hi);
            free(uses);
            free(t.group);
            total += cases[c].banks[l];
        }
        cr_expect_eq(method_fixture_stat(&f, "banks"), (double)total);
        cr_expect_eq(method_hashednet.learnable_params(&f.run), LENET_DENSE + total);
        cr_expect_eq(sparse_store_active(&f.run.store), LENET_POSITIONS,
                     "every position is used, so every mask stays active");
        char err[256];
        cr_expect_eq(sparse_store_check(&f.run.store, err, sizeof err), 0, "%s", err);
        method_fixture_free(&f);
    }
}

Test(hashednet, tying_is_scattered_not_rows)
{
    /* a tying by i mod B would make fc3's 10 class rows (B = 100 = one row)
     * copies of each other; a random map spreads every entry over rows */
    struct method_fixture f;
    setup(&f, 0.9, 3);
    const struct param *fc3 = tensor(&f, 2);
    int differing_rows = 0;
    for (int r = 1; r < 10; r++)
        differing_rows += memcmp(fc3->value, fc3->value + 100 * r, 100 * sizeof(float)) != 0;
    cr_expect_eq(differing_rows, 9);
    method_fixture_free(&f);
}

Test(hashednet, same_seed_same_map_other_seed_another)
{
    struct method_fixture a, b, c;
    setup(&a, 0.9, 5);
    setup(&b, 0.9, 5);
    setup(&c, 0.9, 6);
    const struct param *pa = tensor(&a, 1), *pb = tensor(&b, 1), *pc = tensor(&c, 1);
    cr_expect_eq(memcmp(pa->value, pb->value, pa->count * sizeof(float)), 0);
    cr_expect_neq(memcmp(pa->value, pc->value, pa->count * sizeof(float)), 0);
    method_fixture_free(&a);
    method_fixture_free(&b);
    method_fixture_free(&c);
}

/* a random batch and its labels in the net's input */
static int32_t *random_batch(struct method_fixture *f, uint64_t seed)
{
    cr_assert_eq(net_set_capacity(f->net, BATCH), 0);
    struct rng r = rng_stream(seed, RNG_AUGMENT);
    fill_normal(&r, net_input(f->net), (size_t)BATCH * 28 * 28);
    int32_t *labels = malloc(sizeof *labels * BATCH);
    for (int j = 0; j < BATCH; j++)
        labels[j] = (int32_t)rng_below(&r, CLASSES);
    return labels;
}

/* materialize, forward, loss, backward, tie the gradients: one training
 * iteration up to the optimizer step */
static double gradients(struct method_fixture *f, const int32_t *labels)
{
    method_fixture_hook(f, method_hashednet.before_forward, 0, 0);
    net_forward(f->net, BATCH, 1);
    const double loss = softmax_cross_entropy(BATCH, CLASSES, net_logits(f->net), labels,
                                              net_logits_grad(f->net), NULL);
    net_backward(f->net, BATCH);
    method_fixture_hook(f, method_hashednet.after_backward, 0, 0);
    return loss;
}

static double loss_only(struct method_fixture *f, const int32_t *labels)
{
    method_fixture_hook(f, method_hashednet.before_forward, 0, 0);
    net_forward(f->net, BATCH, 1);
    return softmax_cross_entropy(BATCH, CLASSES, net_logits(f->net), labels, NULL, NULL);
}

Test(hashednet, tied_positions_stay_equal_through_sgd_steps)
{
    struct method_fixture f;
    setup(&f, 0.9, 7);
    struct tying t[3];
    float *initial[3];
    for (int l = 0; l < 3; l++) {
        t[l] = read_tying(&f, l);
        initial[l] = malloc(tensor(&f, l)->count * sizeof(float));
        memcpy(initial[l], tensor(&f, l)->value, tensor(&f, l)->count * sizeof(float));
    }
    int32_t *labels = random_batch(&f, 7);
    const struct sgd_config sgd = {.momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = 1};
    const double first = gradients(&f, labels);
    for (int step = 0; step < 5; step++) {
        sgd_step(f.net, &sgd, 0.05f);
        /* no materialization since the last step: the update itself keeps the tying */
        for (int l = 0; l < 3; l++) {
            const struct param *p = tensor(&f, l);
            size_t changed = 0;
            for (size_t i = 0; i < p->count; i++) {
                const int32_t g = t[l].group[i];
                cr_assert_eq(p->value[i], p->value[g], "step %d %s[%zu] %g, its entry %g", step,
                             p->name, i, (double)p->value[i], (double)p->value[g]);
                cr_assert_eq(p->momentum[i], p->momentum[g], "step %d %s[%zu] momentum", step,
                             p->name, i);
                changed += p->value[i] != initial[l][i];
            }
            cr_assert_gt(changed, p->count / 2, "%s barely moved", p->name);
        }
        if (step < 4)
            gradients(&f, labels);
    }
    cr_expect_lt(loss_only(&f, labels), first, "five steps on one batch should lower its loss");
    for (int l = 0; l < 3; l++) {
        free(t[l].group);
        free(initial[l]);
    }
    free(labels);
    method_fixture_free(&f);
}

Test(hashednet, bank_gradient_is_the_sum_of_its_positions)
{
    struct method_fixture f;
    setup(&f, 0.95, 9);
    struct rng r = rng_stream(9, RNG_AUGMENT);
    for (int l = 0; l < 3; l++) {
        struct param *p = tensor(&f, l);
        struct tying t = read_tying(&f, l);
        fill_normal(&r, p->grad, p->count);
        double *sum = calloc(p->count, sizeof *sum);
        for (size_t i = 0; i < p->count; i++)
            sum[t.group[i]] += p->grad[i];
        method_fixture_hook(&f, method_hashednet.after_backward, 0, 0);
        for (size_t i = 0; i < p->count; i++)
            cr_assert_float_eq(p->grad[i], sum[t.group[i]], 1e-4 * (1 + fabs(sum[t.group[i]])),
                               "%s[%zu]: %g, the entry's sum %g", p->name, i, (double)p->grad[i],
                               sum[t.group[i]]);
        free(sum);
        free(t.group);
    }
    method_fixture_free(&f);
}

struct entry_probe {
    struct method_fixture *f;
    const int32_t *labels;
};

static double probe_loss(void *ctx)
{
    struct entry_probe *e = ctx;
    return loss_only(e->f, e->labels);
}

Test(hashednet, summed_gradient_matches_finite_differences_of_the_loss)
{
    /* perturb a bank entry (at its representative), materialize, forward:
     * the loss slope is the entry's summed gradient */
    struct method_fixture f;
    setup(&f, 0.9, 11);
    int32_t *labels = random_batch(&f, 11);
    gradients(&f, labels);
    struct entry_probe probe = {&f, labels};
    for (int l = 0; l < 3; l++) {
        struct param *p = tensor(&f, l);
        struct tying t = read_tying(&f, l);
        float *grad = malloc(p->count * sizeof(float));
        memcpy(grad, p->grad, p->count * sizeof(float));
        size_t largest = 0;
        for (size_t i = 0; i < p->count; i++)
            if (fabsf(grad[i]) > fabsf(grad[largest]))
                largest = i;
        const float scale = fabsf(grad[largest]);
        struct rng r = rng_stream(11 + l, RNG_METHOD);
        size_t entries[4] = {(size_t)t.group[largest]};
        for (int k = 1; k < 4; k++)
            entries[k] = (size_t)t.group[rng_below(&r, p->count)];
        for (int k = 0; k < 4; k++) {
            const size_t e = entries[k];
            const double slope = central_difference(probe_loss, &probe, &p->value[e], 1e-3f);
            cr_expect(fabs(slope - grad[e]) <= 5e-2 * fabs(grad[e]) + 1e-2 * scale,
                      "%s entry at %zu: summed gradient %g, loss slope %g", p->name, e,
                      (double)grad[e], slope);
        }
        free(grad);
        free(t.group);
    }
    free(labels);
    method_fixture_free(&f);
}

Test(hashednet, learnable_count_is_banks_plus_dense_parameters)
{
    struct method_fixture f;
    setup(&f, 0.9, 1);
    /* 23520 + 3000 + 100 shared values and the 410 biases: PAPER.md's
     * sparse LeNet-300-100 at 0.9 keeps the same 27030 */
    cr_expect_eq(method_hashednet.learnable_params(&f.run), 27030);
    cr_expect_eq(net_param_count(f.net), 266610);
    method_fixture_free(&f);
}
