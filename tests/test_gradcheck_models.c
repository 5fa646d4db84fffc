/* Whole-model gradient checks: net_backward's gradient of the mean softmax
 * cross-entropy against the loss itself, for a few entries of every tensor
 * in the model's own parameter table. Forward runs in training mode
 * throughout, so batch norm normalizes with the batch statistics that the
 * backward pass differentiates (its running statistics move with every
 * forward, which the training-mode loss does not read).
 *
 * An entry is checked on a short segment [v - h, v + h] around its value v:
 * the loss slope over the segment must equal the backward gradient at v, or,
 * when a ReLU or max-pool kink inside the segment bends the loss, the mean of
 * the backward gradient over the segment (the loss is continuous, so the
 * slope is exactly that mean). Plain central differences go wrong whenever a
 * kink falls inside the step, and float32 rounding noise in the loss rules out
 * steps small enough to make that rare in deep nets. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"
#include "net.h"
#include "testutil.h"

#define CLASSES 10
#define SEED 7
/* random entries per tensor, besides the one with the largest gradient */
#define RANDOM_ENTRIES 2
#define SEGMENT_HALF_WIDTH 1e-3f
/* deep nets at initialization have gradients in the tens with matching
 * curvature: their segments shrink so the loss moves by about this much */
#define MAX_LOSS_CHANGE 1e-3f
/* points of the midpoint rule for the mean gradient over a segment */
#define SEGMENT_POINTS 64
#define RELATIVE_TOLERANCE 5e-2
/* Float32 rounding noise in the loss grows with how strongly the loss depends
 * on the tensor, so the absolute tolerance is a fraction of its largest gradient. */
#define NOISE_FRACTION 1e-2
/* ResNet-50 at initialization is chaotic at float32 resolution: at a rare
 * point the gradient differs from the gradient a sliver of the segment away
 * by more than the tolerance, and no difference quotient can resolve it.
 * Such entries are skipped, but there must be few of them. */
#define SPIKE_PROBE_FRACTION (1.0f / 64)
#define MAX_UNVERIFIABLE_FRACTION 0.02
/* a broken backward fails every entry: report a few, not hundreds */
#define MAX_WRONG_REPORTED 8

/* One thread: thousands of small forward and backward passes would otherwise
 * have the OpenMP threads of parallel test jobs spinning against each other,
 * and the rounding (so which ResNet-50 gradients spike) would depend on the
 * machine's core count. */
static void use_one_thread(void)
{
    omp_set_num_threads(1);
}

TestSuite(models, .init = use_one_thread);

struct model_case {
    struct net *net;
    int batch;
    int32_t *labels;
};

enum verdict { VERIFIED, UNVERIFIABLE, WRONG };

static struct model_case model_case_new(const char *model, double width_scale, int in_c,
                                        int in_h, int in_w, int batch)
{
    struct model_spec spec;
    char err[160];
    cr_assert_eq(model_parse(model, &spec, err, sizeof err), 0, "%s", err);
    spec.width_scale = width_scale;
    struct model_case c = {.net = model_build(&spec, in_c, in_h, in_w, CLASSES), .batch = batch};
    cr_assert_not_null(c.net, "%s does not build for %dx%dx%d", model, in_c, in_h, in_w);
    cr_assert_eq(net_set_capacity(c.net, batch), 0);
    struct rng weights = rng_stream(SEED, RNG_WEIGHT_INIT), data = rng_stream(SEED, RNG_METHOD);
    net_init_params(c.net, &weights);
    fill_normal(&data, net_input(c.net), (size_t)in_c * in_h * in_w * batch);
    c.labels = calloc((size_t)batch, sizeof *c.labels);
    cr_assert_not_null(c.labels);
    for (int j = 0; j < batch; j++)
        c.labels[j] = (int32_t)rng_below(&data, CLASSES);
    return c;
}

static void model_case_free(struct model_case *c)
{
    net_free(c->net);
    free(c->labels);
}

static double loss_at(struct model_case *c, struct param *p, size_t i, float value)
{
    const float original = p->value[i];
    p->value[i] = value;
    net_forward(c->net, c->batch, 1);
    const double loss =
        softmax_cross_entropy(c->batch, CLASSES, net_logits(c->net), c->labels, NULL, NULL);
    p->value[i] = original;
    return loss;
}

static void compute_gradients(struct model_case *c)
{
    net_forward(c->net, c->batch, 1);
    softmax_cross_entropy(c->batch, CLASSES, net_logits(c->net), c->labels,
                          net_logits_grad(c->net), NULL);
    net_backward(c->net, c->batch);
}

/* overwrites every gradient of the net */
static double gradient_at(struct model_case *c, struct param *p, size_t i, float value)
{
    const float original = p->value[i];
    p->value[i] = value;
    compute_gradients(c);
    p->value[i] = original;
    return p->grad[i];
}

static int agrees(double a, double b, double absolute)
{
    return fabs(a - b) <= RELATIVE_TOLERANCE * fmax(fabs(a), fabs(b)) + absolute;
}

/* scale: the largest |gradient| of the tensor, which sets the segment and the noise floor */
static enum verdict check_entry(struct model_case *c, struct param *p, size_t i, float analytic,
                                float scale)
{
    const float v = p->value[i];
    float h = SEGMENT_HALF_WIDTH * fmaxf(1.0f, fabsf(v));
    if (scale * h > MAX_LOSS_CHANGE)
        h = MAX_LOSS_CHANGE / scale;
    const float lo = v - h, hi = v + h;
    const double slope = (loss_at(c, p, i, hi) - loss_at(c, p, i, lo)) / ((double)hi - lo);
    const double floor = NOISE_FRACTION * scale;
    if (agrees(analytic, slope, floor))
        return VERIFIED;
    double sum = 0.0;
    for (int k = 0; k < SEGMENT_POINTS; k++)
        sum += gradient_at(c, p, i, lo + (hi - lo) * ((float)k + 0.5f) / SEGMENT_POINTS);
    const double mean = sum / SEGMENT_POINTS;
    if (agrees(mean, slope, floor))
        return VERIFIED;
    /* a gradient that spikes at v cannot match any slope over the segment */
    const float probe = h * SPIKE_PROBE_FRACTION;
    const double above = gradient_at(c, p, i, v + probe), below = gradient_at(c, p, i, v - probe);
    if (!agrees(above, analytic, floor) || !agrees(below, analytic, floor)) {
        cr_log_info("%s[%zu]: gradient %.6g jumps to %.6g / %.6g within %.3g; not verifiable",
                    p->name, i, analytic, below, above, probe);
        return UNVERIFIABLE;
    }
    cr_expect_fail("%s[%zu]: backward gives %.6g, but the loss slope over [%.9g, %.9g] is %.6g "
                   "and the mean backward gradient there %.6g (absolute tolerance %.3g)",
                   p->name, i, analytic, lo, hi, slope, mean, floor);
    return WRONG;
}

static size_t largest_magnitude(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (fabsf(x[i]) > fabsf(x[best]))
            best = i;
    return best;
}

/* every gradient of the net, tensor after tensor in table order */
static float *gradient_snapshot(const struct net *net)
{
    float *all = malloc(sizeof(float) * net_param_count(net));
    cr_assert_not_null(all);
    size_t offset = 0;
    for (int t = 0; t < net->n_params; t++) {
        memcpy(all + offset, net->params[t]->grad, sizeof(float) * net->params[t]->count);
        offset += net->params[t]->count;
    }
    return all;
}

struct tally {
    int checked, unverifiable, wrong;
};

static void tally_add(struct tally *t, enum verdict v)
{
    t->checked++;
    t->unverifiable += v == UNVERIFIABLE;
    t->wrong += v == WRONG;
}

/* The largest-gradient entry keeps every tensor's check meaningful even where
 * most of its gradient is tiny; the random ones cover the rest. Checking an
 * entry may recompute all gradients, so they are compared from a snapshot. */
static void check_every_param(struct model_case *c)
{
    compute_gradients(c);
    float *grads = gradient_snapshot(c->net);
    struct rng pick = rng_stream(SEED, RNG_MASK_INIT);
    struct tally tally = {0};
    size_t offset = 0;
    for (int t = 0; t < c->net->n_params && tally.wrong < MAX_WRONG_REPORTED; t++) {
        struct param *p = c->net->params[t];
        const float *g = grads + offset;
        offset += p->count;
        const size_t top = largest_magnitude(g, p->count);
        const float scale = fabsf(g[top]);
        cr_expect(scale > 0.0f, "%s: backward left its gradient all zero", p->name);
        tally_add(&tally, check_entry(c, p, top, g[top], scale));
        for (int k = 0; k < RANDOM_ENTRIES; k++) {
            const size_t i = (size_t)rng_below(&pick, p->count);
            tally_add(&tally, check_entry(c, p, i, g[i], scale));
        }
    }
    cr_expect(tally.unverifiable <= MAX_UNVERIFIABLE_FRACTION * tally.checked,
              "%d of %d entries could not be verified", tally.unverifiable, tally.checked);
    free(grads);
}

static void check_model(const char *model, double width_scale, int in_c, int in_h, int in_w,
                        int batch)
{
    struct model_case c = model_case_new(model, width_scale, in_c, in_h, in_w, batch);
    check_every_param(&c);
    model_case_free(&c);
}

Test(models, lenet_300_100_gradients)
{
    check_model("lenet-300-100", 1.0, 1, 8, 8, 2);
}

Test(models, lenet_5_gradients)
{
    check_model("lenet-5", 1.0, 1, 28, 28, 2);
}

Test(models, wrn_10_1_gradients)
{
    check_model("wrn-10-1", 1.0, 3, 8, 8, 2);
}

/* 64x64 leaves the last stage 2x2, and a batch of 4 gives its batch norms 16
 * values per channel. At 32x32 with a batch of 2 they would normalize pairs:
 * the output is +-1 whatever the input, and where a pair nearly ties the
 * gradient is scaled by up to 1/sqrt(eps) ~ 300, so finite differences see
 * nothing but noise. Fewer values per channel also make the net more chaotic. */
Test(models, resnet_50_gradients)
{
    check_model("resnet-50", 1.0 / 16, 3, 64, 64, 4);
}

static struct param *first_sparse_eligible(const struct net *net)
{
    for (int t = 0; t < net->n_params; t++)
        if (net->params[t]->sparse_eligible)
            return net->params[t];
    return NULL;
}

/* masks about half of p at random and zeroes the masked values, as a method would */
static void mask_half(struct param *p, struct rng *r)
{
    p->mask = calloc(p->count, 1);
    cr_assert_not_null(p->mask);
    for (size_t i = 0; i < p->count; i++) {
        p->mask[i] = rng_uniform(r) < 0.5f;
        if (!p->mask[i])
            p->value[i] = 0.0f;
    }
    param_mask_changed(p);
}

Test(models, masked_gradients_are_zero)
{
    struct model_case c = model_case_new("lenet-5", 1.0, 1, 28, 28, 2);
    struct param *p = first_sparse_eligible(c.net);
    cr_assert_not_null(p, "lenet-5 has no sparse-eligible weight");
    struct rng r = rng_stream(SEED, RNG_MASK_INIT);
    mask_half(p, &r);
    compute_gradients(&c);
    size_t masked_nonzero = 0, active_nonzero = 0;
    for (size_t i = 0; i < p->count; i++) {
        if (p->mask[i])
            active_nonzero += p->grad[i] != 0.0f;
        else
            masked_nonzero += p->grad[i] != 0.0f;
    }
    cr_assert_eq(masked_nonzero, 0, "%s: %zu masked entries have a nonzero gradient", p->name,
                 masked_nonzero);
    cr_assert(active_nonzero > 0, "%s: every active entry has a zero gradient", p->name);
    /* the largest gradient is an active entry, which must still carry the true gradient */
    const size_t top = largest_magnitude(p->grad, p->count);
    cr_expect_eq(check_entry(&c, p, top, p->grad[top], fabsf(p->grad[top])), VERIFIED,
                 "%s[%zu]: an active entry's gradient is wrong under a mask", p->name, top);
    model_case_free(&c);
}
