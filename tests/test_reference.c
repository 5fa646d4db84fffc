/* Whole models against PyTorch: one training step (logits, loss, every
 * gradient, batch-norm running statistics) and two Nesterov SGD steps
 * (momentum buffers and parameters), from the fixtures that
 * tests/reference/make_fixtures.py writes. Which tensors are compared comes
 * from the C network's own parameter and layer tables, and every fixture
 * stage must hold exactly those tensors, so a renamed or missing parameter
 * on either side fails the test. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "models.h"
#include "net.h"
#include "optim.h"
#include "testutil.h"

/* float32 summation order differs between PyTorch and us; an error is
 * measured against the largest magnitude of the reference tensor */
static const double tolerance = 1e-4;
static const struct sgd_config sgd = {.momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = 1};
static const float learning_rate = 0.1f;

enum param_field { FIELD_VALUE, FIELD_GRAD, FIELD_MOMENTUM };
enum sync_mode { SYNC_LOAD, SYNC_COMPARE };

struct check {
    const char *model;
    const struct fixture *fixture;
    struct net *net;
    int classes;
    int mismatches;  /* fixture tensors missing or of the wrong shape */
    double worst;    /* largest relative error seen, for the log */
    char worst_name[FIXTURE_NAME_MAX + 1];
};

/* the tensor `name`, when it exists with that dtype and shape */
static const struct fixture_tensor *expect_tensor(struct check *c, const char *name,
                                                  enum fixture_dtype dtype, int ndim,
                                                  const int *dims)
{
    const struct fixture_tensor *t = fixture_find(c->fixture, name);
    int ok = t && t->dtype == dtype && t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = t->dims[d] == dims[d];
    if (!ok) {
        c->mismatches++;
        cr_expect_fail("%s: fixture tensor '%s' is %s", c->model, name,
                       t ? "not of the C model's dtype and shape" : "missing");
    }
    return ok ? t : NULL;
}

static void compare(struct check *c, const char *name, const float *got, const float *want,
                    size_t n)
{
    char what[FIXTURE_NAME_MAX + 64];
    snprintf(what, sizeof what, "%s: %s", c->model, name);
    expect_close(what, got, want, n, tolerance);
    const double error = normalized_error(got, want, n);
    if (error > c->worst) {
        c->worst = error;
        snprintf(c->worst_name, sizeof c->worst_name, "%s", name);
    }
}

/* loads fixture values into `dst`, or compares `dst` with them */
static void sync(struct check *c, const char *name, float *dst, int ndim, const int *dims,
                 enum sync_mode mode)
{
    const struct fixture_tensor *t = expect_tensor(c, name, FIXTURE_F32, ndim, dims);
    if (!t)
        return;
    if (mode == SYNC_LOAD)
        memcpy(dst, t->data.f32, t->count * sizeof(float));
    else
        compare(c, name, dst, t->data.f32, t->count);
}

/* the stage must hold exactly `expected` tensors; with every expected name
 * found, none can be a parameter the C model lacks */
static void expect_stage_size(struct check *c, const char *stage, int expected)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/", stage);
    const int found = fixture_count_prefix(c->fixture, prefix);
    if (found != expected) {
        c->mismatches++;
        cr_expect_fail("%s: fixture stage '%s' has %d tensors, the C model %d", c->model, stage,
                       found, expected);
    }
}

static float *field_of(struct param *p, enum param_field field)
{
    switch (field) {
    case FIELD_GRAD: return p->grad;
    case FIELD_MOMENTUM: return p->momentum;
    case FIELD_VALUE: break;
    }
    return p->value;
}

static void sync_params(struct check *c, const char *stage, enum param_field field,
                        enum sync_mode mode)
{
    expect_stage_size(c, stage, c->net->n_params);
    for (int i = 0; i < c->net->n_params; i++) {
        struct param *p = c->net->params[i];
        char name[FIXTURE_NAME_MAX + 1];
        snprintf(name, sizeof name, "%s/%s", stage, p->name);
        sync(c, name, field_of(p, field), p->ndim, p->shape, mode);
    }
}

static void sync_running_stats(struct check *c, const char *stage, enum sync_mode mode)
{
    static const char *const stats[2] = {"running_mean", "running_var"};
    int bn_layers = 0;
    for (int i = 0; i < c->net->n_layers; i++) {
        const struct layer *l = &c->net->layers[i];
        if (l->kind != LAYER_BATCHNORM)
            continue;
        bn_layers++;
        for (int s = 0; s < 2; s++) {
            char buffer[sizeof l->name + 16], name[FIXTURE_NAME_MAX + 1];
            size_t count = 0;
            snprintf(buffer, sizeof buffer, "%s.%s", l->name, stats[s]);
            float *values = net_find_buffer(c->net, buffer, &count);
            cr_assert(values, "%s: net_find_buffer does not know '%s'", c->model, buffer);
            snprintf(name, sizeof name, "%s/%s", stage, buffer);
            const int dims[1] = {(int)count};
            sync(c, name, values, 1, dims, mode);
        }
    }
    expect_stage_size(c, stage, 2 * bn_layers);
}

/* copies the NCHW images into the network's CNHW input; returns the labels
 * (NULL after reporting a mismatch) */
static const int32_t *load_batch(struct check *c, const char *stage, int n)
{
    const struct activation *in = &c->net->acts[0];
    const int dims[4] = {n, in->c, in->h, in->w};
    char name[64];
    snprintf(name, sizeof name, "%s/input", stage);
    const struct fixture_tensor *x = expect_tensor(c, name, FIXTURE_F32, 4, dims);
    snprintf(name, sizeof name, "%s/labels", stage);
    const struct fixture_tensor *labels = expect_tensor(c, name, FIXTURE_I32, 1, dims);
    if (!x || !labels)
        return NULL;
    const size_t hw = (size_t)in->h * in->w;
    float *dst = net_input(c->net);
    for (int ch = 0; ch < in->c; ch++)
        for (int i = 0; i < n; i++)
            memcpy(dst + ((size_t)ch * n + i) * hw, x->data.f32 + ((size_t)i * in->c + ch) * hw,
                   hw * sizeof(float));
    for (int i = 0; i < n; i++)
        cr_assert(labels->data.i32[i] >= 0 && labels->data.i32[i] < c->classes,
                  "%s: %s[%d] = %d is not a class", c->model, name, i, labels->data.i32[i]);
    return labels->data.i32;
}

static void compare_logits(struct check *c, int n)
{
    /* ours are [classes x n], PyTorch's [n x classes] */
    const int dims[2] = {n, c->classes};
    const struct fixture_tensor *t = expect_tensor(c, "batch1/logits", FIXTURE_F32, 2, dims);
    if (!t)
        return;
    float *transposed = malloc(t->count * sizeof(float));
    cr_assert(transposed, "out of memory");
    const float *logits = net_logits(c->net);
    for (int k = 0; k < c->classes; k++)
        for (int j = 0; j < n; j++)
            transposed[(size_t)j * c->classes + k] = logits[(size_t)k * n + j];
    compare(c, "batch1/logits", transposed, t->data.f32, t->count);
    free(transposed);
}

/* forward and backward on one fixture batch, checking the loss */
static void train_batch(struct check *c, const char *stage, int n)
{
    const int32_t *labels = load_batch(c, stage, n);
    cr_assert(labels, "%s: cannot run %s without its images and labels", c->model, stage);
    net_forward(c->net, n, 1);
    if (strcmp(stage, "batch1") == 0)
        compare_logits(c, n);
    const float loss = (float)softmax_cross_entropy(n, c->classes, net_logits(c->net), labels,
                                                    net_logits_grad(c->net), NULL);
    char name[64];
    const int one = 1;
    snprintf(name, sizeof name, "%s/loss", stage);
    const struct fixture_tensor *want = expect_tensor(c, name, FIXTURE_F32, 1, &one);
    if (want)
        compare(c, name, &loss, want->data.f32, 1);
    net_backward(c->net, n);
}

/* builds the model the fixture was recorded from; input shape, batch size
 * and class count come from the fixture itself */
static struct net *build(struct check *c, double width_scale, int *batch)
{
    const struct fixture_tensor *x = fixture_find(c->fixture, "batch1/input");
    const struct fixture_tensor *logits = fixture_find(c->fixture, "batch1/logits");
    cr_assert(x && x->ndim == 4 && logits && logits->ndim == 2,
              "%s: the fixture needs a 4-d batch1/input and 2-d batch1/logits", c->model);
    char err[256];
    struct model_spec spec;
    cr_assert(model_parse(c->model, &spec, err, sizeof err) == 0, "%s", err);
    spec.width_scale = width_scale;
    struct net *net = model_build(&spec, x->dims[1], x->dims[2], x->dims[3], logits->dims[1]);
    cr_assert(net, "%s: model_build failed", c->model);
    cr_assert(net_set_capacity(net, x->dims[0]) == 0);
    c->classes = logits->dims[1];
    *batch = x->dims[0];
    return net;
}

static void check_against_pytorch(const char *model, double width_scale, const char *path)
{
    char err[512];
    struct fixture *fixture = fixture_load(path, err, sizeof err);
    cr_assert(fixture, "%s", err);
    struct check c = {.model = model, .fixture = fixture};
    int n;
    c.net = build(&c, width_scale, &n);

    sync_params(&c, "param", FIELD_VALUE, SYNC_LOAD);
    sync_running_stats(&c, "running_before", SYNC_LOAD);
    cr_assert(c.mismatches == 0, "%s: %s does not fit the C model (see above)", model, path);

    train_batch(&c, "batch1", n);
    sync_params(&c, "grad", FIELD_GRAD, SYNC_COMPARE);
    sync_running_stats(&c, "running_after", SYNC_COMPARE);
    sgd_step(c.net, &sgd, learning_rate);

    train_batch(&c, "batch2", n);
    sgd_step(c.net, &sgd, learning_rate);
    sync_params(&c, "momentum", FIELD_MOMENTUM, SYNC_COMPARE);
    sync_params(&c, "final", FIELD_VALUE, SYNC_COMPARE);

    cr_log_info("%s: worst relative error %.3g (%s)", model, c.worst, c.worst_name);
    net_free(c.net);
    fixture_free(fixture);
}

Test(reference, wrn_10_1)
{
    check_against_pytorch("wrn-10-1", 1.0, "tests/fixtures/wrn-10-1.bin");
}

Test(reference, resnet_50_sixteenth_width)
{
    check_against_pytorch("resnet-50", 1.0 / 16, "tests/fixtures/resnet-50-w0.0625.bin");
}

Test(reference, lenet_300_100_quarter_width)
{
    check_against_pytorch("lenet-300-100", 0.25, "tests/fixtures/lenet-300-100-w0.25.bin");
}

Test(reference, lenet_5_quarter_width)
{
    check_against_pytorch("lenet-5", 0.25, "tests/fixtures/lenet-5-w0.25.bin");
}

/* the whole file plus one spare zero byte (for the "trailing bytes" damage) */
static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    cr_assert(fseek(f, 0, SEEK_END) == 0);
    const long end = ftell(f);
    cr_assert(end > 0 && fseek(f, 0, SEEK_SET) == 0, "cannot size %s", path);
    *size = (size_t)end;
    unsigned char *bytes = calloc(*size + 1, 1);
    cr_assert(bytes && fread(bytes, 1, *size, f) == *size, "cannot read %s", path);
    fclose(f);
    return bytes;
}

/* the first `length` bytes, with byte `offset` (when below length) set to `value` */
static void write_damaged(const char *path, const unsigned char *bytes, size_t length,
                          size_t offset, unsigned char value)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    for (size_t i = 0; i < length; i++)
        fputc(i == offset ? value : bytes[i], f);
    cr_assert(fclose(f) == 0, "cannot write %s", path);
}

/* damaged copies of a good fixture must be refused with the reason named */
Test(reference, fixture_loader_refuses_damaged_files)
{
    size_t size;
    unsigned char *good = read_file("tests/fixtures/lenet-5-w0.25.bin", &size);
    const struct {
        size_t length, offset; /* offset SIZE_MAX: no byte changed */
        unsigned char value;
        const char *reason;
    } damage[] = {
        {size, 0, 'X', "bad magic"},
        {size, 8, 2, "version 2"},
        {size, 16, 0, "name length 0"},
        {size - 1, SIZE_MAX, 0, "file ends inside"},
        {size + 1, SIZE_MAX, 0, "unexpected bytes"},
    };
    char path[] = "/tmp/dsrbench-fixture-XXXXXX";
    const int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp failed");
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        write_damaged(path, good, damage[i].length, damage[i].offset, damage[i].value);
        char err[512] = "";
        struct fixture *fixture = fixture_load(path, err, sizeof err);
        cr_expect(!fixture && strstr(err, damage[i].reason),
                  "damage %zu: expected a refusal naming '%s', got '%s'", i, damage[i].reason,
                  err);
        fixture_free(fixture);
    }
    close(fd);
    unlink(path);
    free(good);
}
