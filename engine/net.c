#include "net.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_kernels.h"
#include "net_plan.h"
#include "net_shapes.h"
#include "param_storage.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "dsrbench: out of memory allocating %zu x %zu bytes\n", n, size);
        exit(1);
    }
    return p;
}

/* n floats, zeroed and 64-byte aligned (whole cache lines: the lanes layout's
 * vectors, layers.h) */
static float *aligned_floats(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0) {
        fprintf(stderr, "dsrbench: out of memory allocating %zu floats\n", n);
        exit(1);
    }
    memset(p, 0, (n ? n : 1) * sizeof(float));
    return p;
}

struct net *net_create(int in_c, int in_h, int in_w)
{
    struct net *net = xcalloc(1, sizeof *net);
    net->acts = xcalloc(1, sizeof *net->acts);
    net->acts[0] = (struct activation){.c = in_c, .h = in_h, .w = in_w};
    net->n_acts = 1;
    net->bn_momentum = 0.1f;
    net->bn_eps = 1e-5f;
    return net;
}

static int new_activation(struct net *net, int c, int h, int w)
{
    net->acts = realloc(net->acts, sizeof *net->acts * (size_t)(net->n_acts + 1));
    if (!net->acts) {
        fprintf(stderr, "dsrbench: out of memory\n");
        exit(1);
    }
    net->acts[net->n_acts] = (struct activation){.c = c, .h = h, .w = w};
    return net->n_acts++;
}

static struct layer *new_layer(struct net *net, enum layer_kind kind, const char *name, int in)
{
    net->layers = realloc(net->layers, sizeof *net->layers * (size_t)(net->n_layers + 1));
    if (!net->layers) {
        fprintf(stderr, "dsrbench: out of memory\n");
        exit(1);
    }
    struct layer *l = &net->layers[net->n_layers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->in = in;
    l->in2 = -1;
    l->relu_out = l->residual_in = l->residual_out = -1;
    snprintf(l->name, sizeof l->name, "%s", name ? name : "");
    return l;
}

static struct param *new_param(struct net *net, const char *layer_name, const char *suffix,
                               int ndim, const int *shape, enum param_init init, int fan)
{
    struct param *p = xcalloc(1, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", layer_name, suffix);
    p->ndim = ndim;
    p->count = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->count *= (size_t)shape[i];
    }
    p->value = xcalloc(p->count, sizeof(float));
    p->grad = xcalloc(p->count, sizeof(float));
    p->momentum = xcalloc(p->count, sizeof(float));
    p->init = init;
    p->fan = fan;
    net->params = realloc(net->params, sizeof *net->params * (size_t)(net->n_params + 1));
    if (!net->params) {
        fprintf(stderr, "dsrbench: out of memory\n");
        exit(1);
    }
    net->params[net->n_params++] = p;
    return p;
}

static int valid_input(const struct net *net, int in, const char *what)
{
    if (in < 0 || in >= net->n_acts) {
        fprintf(stderr, "dsrbench: %s reads activation %d, which does not exist\n", what, in);
        return 0;
    }
    return 1;
}

int net_conv(struct net *net, const char *name, int in, int out_c, int kernel, int stride,
             int pad, int with_bias, int sparse_eligible)
{
    if (!valid_input(net, in, name))
        return -1;
    const struct activation a = net->acts[in];
    struct conv_shape s = {.in_c = a.c, .in_h = a.h, .in_w = a.w, .out_c = out_c,
                           .kernel = kernel, .stride = stride, .pad = pad};
    if (out_c < 1 || conv_shape_resolve(&s) != 0) {
        fprintf(stderr,
                "dsrbench: %s: a %dx%d convolution (stride %d, pad %d) to %d channels does not "
                "fit a %dx%dx%d input\n",
                name, kernel, kernel, stride, pad, out_c, a.c, a.h, a.w);
        return -1;
    }
    struct layer *l = new_layer(net, LAYER_CONV, name, in);
    l->kernel = kernel;
    l->stride = stride;
    l->pad = pad;
    const int shape[4] = {out_c, a.c, kernel, kernel};
    l->weight = new_param(net, name, "weight", 4, shape, INIT_HE_FAN_OUT, kernel * kernel * out_c);
    l->weight->sparse_eligible = sparse_eligible;
    if (with_bias)
        l->bias = new_param(net, name, "bias", 1, &out_c, INIT_ZERO, 0);
    l->out = new_activation(net, out_c, s.out_h, s.out_w);
    return l->out;
}

int net_batchnorm(struct net *net, const char *name, int in)
{
    if (!valid_input(net, in, name))
        return -1;
    const struct activation a = net->acts[in];
    struct layer *l = new_layer(net, LAYER_BATCHNORM, name, in);
    l->weight = new_param(net, name, "weight", 1, &a.c, INIT_ONE, 0);
    l->bias = new_param(net, name, "bias", 1, &a.c, INIT_ZERO, 0);
    l->running_mean = xcalloc((size_t)a.c, sizeof(float));
    l->running_var = xcalloc((size_t)a.c, sizeof(float));
    l->saved_mean = xcalloc((size_t)a.c, sizeof(float));
    l->saved_invstd = xcalloc((size_t)a.c, sizeof(float));
    for (int c = 0; c < a.c; c++)
        l->running_var[c] = 1.0f;
    l->out = new_activation(net, a.c, a.h, a.w);
    return l->out;
}

static int shape_preserving(struct net *net, enum layer_kind kind, int in)
{
    if (!valid_input(net, in, "layer"))
        return -1;
    const struct activation a = net->acts[in];
    struct layer *l = new_layer(net, kind, NULL, in);
    l->out = new_activation(net, a.c, a.h, a.w);
    return l->out;
}

int net_relu(struct net *net, int in)
{
    return shape_preserving(net, LAYER_RELU, in);
}

static int pool(struct net *net, enum layer_kind kind, int in, int kernel, int stride, int pad)
{
    if (!valid_input(net, in, "pool"))
        return -1;
    const struct activation a = net->acts[in];
    struct pool_shape s = {.in_h = a.h, .in_w = a.w, .kernel = kernel, .stride = stride,
                           .pad = pad};
    if (pool_shape_resolve(&s) != 0) {
        fprintf(stderr, "dsrbench: a %dx%d pool (stride %d, pad %d) does not fit a %dx%d input\n",
                kernel, kernel, stride, pad, a.h, a.w);
        return -1;
    }
    struct layer *l = new_layer(net, kind, NULL, in);
    l->kernel = kernel;
    l->stride = stride;
    l->pad = pad;
    l->out = new_activation(net, a.c, s.out_h, s.out_w);
    return l->out;
}

int net_maxpool(struct net *net, int in, int kernel, int stride, int pad)
{
    return pool(net, LAYER_MAXPOOL, in, kernel, stride, pad);
}

int net_avgpool(struct net *net, int in, int kernel, int stride)
{
    return pool(net, LAYER_AVGPOOL, in, kernel, stride, 0);
}

int net_global_avgpool(struct net *net, int in)
{
    if (!valid_input(net, in, "global average pool"))
        return -1;
    struct layer *l = new_layer(net, LAYER_GLOBAL_AVGPOOL, NULL, in);
    l->out = new_activation(net, net->acts[in].c, 1, 1);
    return l->out;
}

int net_flatten(struct net *net, int in)
{
    if (!valid_input(net, in, "flatten"))
        return -1;
    const struct activation a = net->acts[in];
    struct layer *l = new_layer(net, LAYER_FLATTEN, NULL, in);
    l->out = new_activation(net, a.c * a.h * a.w, 1, 1);
    return l->out;
}

int net_linear(struct net *net, const char *name, int in, int out, int sparse_eligible)
{
    if (!valid_input(net, in, name))
        return -1;
    const struct activation a = net->acts[in];
    if (a.h != 1 || a.w != 1 || out < 1) {
        fprintf(stderr, "dsrbench: %s: a linear layer needs a flat input, got %dx%dx%d\n", name,
                a.c, a.h, a.w);
        return -1;
    }
    struct layer *l = new_layer(net, LAYER_LINEAR, name, in);
    const int shape[2] = {out, a.c};
    l->weight = new_param(net, name, "weight", 2, shape, INIT_UNIFORM_FAN_IN, a.c);
    l->weight->sparse_eligible = sparse_eligible;
    l->bias = new_param(net, name, "bias", 1, &out, INIT_ZERO, 0);
    l->out = new_activation(net, out, 1, 1);
    net->classes = out;
    return l->out;
}

int net_add(struct net *net, int a, int b)
{
    if (!valid_input(net, a, "add") || !valid_input(net, b, "add"))
        return -1;
    const struct activation x = net->acts[a], y = net->acts[b];
    if (x.c != y.c || x.h != y.h || x.w != y.w) {
        fprintf(stderr, "dsrbench: residual add of %dx%dx%d and %dx%dx%d\n", x.c, x.h, x.w, y.c,
                y.h, y.w);
        return -1;
    }
    struct layer *l = new_layer(net, LAYER_ADD, NULL, a);
    l->in2 = b;
    l->out = new_activation(net, x.c, x.h, x.w);
    return l->out;
}

static void free_activations(struct net *net)
{
    for (int i = 0; i < net->n_acts; i++) {
        free(net->acts[i].data);
        free(net->acts[i].grad);
        net->acts[i].data = net->acts[i].grad = NULL;
    }
    for (int i = 0; i < net->n_layers; i++) {
        free(net->layers[i].argmax);
        net->layers[i].argmax = NULL;
    }
    free(net->workspace);
    net->workspace = NULL;
    net->capacity = 0;
}

void net_free(struct net *net)
{
    if (!net)
        return;
    free_activations(net);
    for (int i = 0; i < net->n_layers; i++) {
        struct layer *l = &net->layers[i];
        free(l->running_mean);
        free(l->running_var);
        free(l->saved_mean);
        free(l->saved_invstd);
        net_layer_sparse_free(l);
    }
    for (int i = 0; i < net->n_params; i++) {
        struct param *p = net->params[i];
        free(p->value);
        free(p->grad);
        free(p->momentum);
        free(p->mask);
        param_storage_free(p);
        free(p);
    }
    free(net->params);
    free(net->layers);
    free(net->acts);
    free(net);
}

void param_init_values(const struct param *p, float *out, size_t n, struct rng *stream)
{
    const float he_std = p->fan > 0 ? sqrtf(2.0f / (float)p->fan) : 0.0f;
    const float bound = p->fan > 0 ? 1.0f / sqrtf((float)p->fan) : 0.0f;
    for (size_t j = 0; j < n; j++) {
        switch (p->init) {
        case INIT_HE_FAN_OUT: out[j] = he_std * rng_normal(stream); break;
        case INIT_UNIFORM_FAN_IN: out[j] = bound * (2.0f * rng_uniform(stream) - 1.0f); break;
        case INIT_ZERO: out[j] = 0.0f; break;
        case INIT_ONE: out[j] = 1.0f; break;
        }
    }
}

void net_init_params(struct net *net, struct rng *weight_stream)
{
    for (int i = 0; i < net->n_params; i++) {
        struct param *p = net->params[i];
        param_to_dense(p);
        param_init_values(p, p->value, p->count, weight_stream);
        param_zero_masked(p, p->value);
    }
    for (int i = 0; i < net->n_layers; i++) {
        struct layer *l = &net->layers[i];
        if (l->kind != LAYER_BATCHNORM)
            continue;
        const int c = l->weight->shape[0];
        for (int j = 0; j < c; j++) {
            l->running_mean[j] = 0.0f;
            l->running_var[j] = 1.0f;
        }
    }
}

int net_set_capacity(struct net *net, int capacity)
{
    if (capacity < 1)
        return -1;
    const int threads = omp_get_max_threads();
    if (capacity == net->capacity && threads == net->workspace_threads)
        return 0;
    free_activations(net);
    net_plan(net);
    net_plan_borders(net, capacity);
    size_t workspace = 0;
    for (int i = 0; i < net->n_acts; i++) {
        if (!net_activation_needed(net, i))
            continue;
        const struct activation *a = &net->acts[i];
        const size_t plain = act_floats(a, capacity);
        const size_t bordered = (size_t)a->c * a->border.channel_stride; /* 0: not planned */
        net->acts[i].data = aligned_floats(plain > bordered ? plain : bordered);
        if (net_gradient_needed(net, i)) /* gradients stay plain */
            net->acts[i].grad = xcalloc(plain, sizeof(float));
    }
    for (int i = 0; i < net->n_layers; i++) {
        struct layer *l = &net->layers[i];
        if (l->kind == LAYER_CONV) {
            const struct conv_shape s = conv_shape_of(net, l, capacity);
            const size_t need = conv_workspace_floats(&s, threads);
            if (need > workspace)
                workspace = need;
        } else if (l->kind == LAYER_LINEAR) {
            const size_t need = linear_workspace_floats(net->acts[l->in].c, net->acts[l->out].c);
            if (need > workspace)
                workspace = need;
        } else if (l->kind == LAYER_MAXPOOL) {
            l->argmax = xcalloc(act_floats(&net->acts[l->out], capacity), sizeof(int32_t));
        }
    }
    net->workspace = xcalloc(workspace, sizeof(float));
    net->workspace_threads = threads;
    net->capacity = capacity;
    return 0;
}

float *net_input(struct net *net)
{
    return net->acts[0].data;
}

float *net_logits(struct net *net)
{
    return net->acts[net->n_acts - 1].data;
}

float *net_logits_grad(struct net *net)
{
    return net->acts[net->n_acts - 1].grad;
}

void param_mask_changed(struct param *p)
{
    p->mask_version++;
}

void param_zero_masked(const struct param *p, float *x)
{
    if (!p->mask || p->compact)
        return;
    for (size_t j = 0; j < p->count; j++)
        if (!p->mask[j])
            x[j] = 0.0f;
}

size_t net_param_count(const struct net *net)
{
    size_t total = 0;
    for (int i = 0; i < net->n_params; i++)
        total += net->params[i]->count;
    return total;
}

struct param *net_find_param(const struct net *net, const char *name)
{
    for (int i = 0; i < net->n_params; i++)
        if (strcmp(net->params[i]->name, name) == 0)
            return net->params[i];
    return NULL;
}

float *net_find_buffer(const struct net *net, const char *name, size_t *count)
{
    for (int i = 0; i < net->n_layers; i++) {
        const struct layer *l = &net->layers[i];
        if (l->kind != LAYER_BATCHNORM)
            continue;
        const size_t len = strlen(l->name);
        if (strncmp(name, l->name, len) != 0 || name[len] != '.')
            continue;
        *count = (size_t)l->weight->shape[0];
        if (strcmp(name + len + 1, "running_mean") == 0)
            return l->running_mean;
        if (strcmp(name + len + 1, "running_var") == 0)
            return l->running_var;
    }
    return NULL;
}
