#include "net_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lanes.h"
#include "net_kernels.h"
#include "net_shapes.h"
#include "sparse_kernels.h"

/* layers that read activation act, fused or not */
static int readers(const struct net *net, int act)
{
    int n = 0;
    for (int i = 0; i < net->n_layers; i++)
        n += (net->layers[i].in == act) + (net->layers[i].in2 == act);
    return n;
}

/* the layer that writes activation act, or NULL for the input */
static const struct layer *producer(const struct net *net, int act)
{
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].out == act)
            return &net->layers[i];
    return NULL;
}

static void fuse_relu_into_batchnorm(struct net *net, struct layer *relu)
{
    if (relu->kind != LAYER_RELU || readers(net, relu->in) != 1)
        return;
    struct layer *bn = (struct layer *)producer(net, relu->in);
    if (bn && bn->kind == LAYER_BATCHNORM) {
        bn->relu_out = relu->out;
        relu->fused = 1;
    }
}

/* The add's input computed last must come from a convolution that nothing
 * else reads (then the other input exists when that convolution runs). */
static void fuse_add_into_conv(struct net *net, struct layer *add)
{
    if (add->kind != LAYER_ADD || add->in == add->in2)
        return;
    const struct layer *a = producer(net, add->in), *b = producer(net, add->in2);
    const int later_is_b = b && (!a || b > a);
    struct layer *conv = (struct layer *)(later_is_b ? b : a);
    const int conv_out = later_is_b ? add->in2 : add->in;
    if (!conv || conv->kind != LAYER_CONV || readers(net, conv_out) != 1)
        return;
    conv->residual_in = later_is_b ? add->in : add->in2;
    conv->residual_out = add->out;
    add->fused = 1;
}

static void plan_fusions(struct net *net)
{
    for (int i = 0; i < net->n_layers; i++) {
        struct layer *l = &net->layers[i];
        l->relu_out = l->residual_in = l->residual_out = -1;
        l->fused = 0;
    }
    for (int i = 0; i < net->n_layers; i++) {
        fuse_relu_into_batchnorm(net, &net->layers[i]);
        fuse_add_into_conv(net, &net->layers[i]);
    }
}

int net_activation_needed(const struct net *net, int act)
{
    if (act == 0 || act == net->n_acts - 1)
        return 1;
    for (int i = 0; i < net->n_layers; i++) {
        const struct layer *l = &net->layers[i];
        if (l->fused)
            continue;
        if (l->in == act || l->in2 == act || l->relu_out == act || l->residual_in == act ||
            l->residual_out == act || (l->out == act && l->relu_out < 0 && l->residual_out < 0))
            return 1;
    }
    return 0;
}

int net_gradient_needed(const struct net *net, int act)
{
    if (act == net->n_acts - 1)
        return 1;
    const struct layer *l = producer(net, act);
    if (!l)
        return 0;
    return l->weight || net_gradient_needed(net, l->in) ||
           (l->in2 >= 0 && net_gradient_needed(net, l->in2));
}

/* In backward order, the first layer to write an activation's gradient sets
 * it and later ones add: no buffer needs zeroing at the start of backward. */
static void plan_gradient_writes(struct net *net)
{
    int *written = calloc((size_t)net->n_acts, sizeof *written);
    if (!written) {
        fprintf(stderr, "dsrbench: out of memory\n");
        exit(1);
    }
    for (int i = net->n_layers - 1; i >= 0; i--) {
        struct layer *l = &net->layers[i];
        if (l->fused)
            continue;
        l->in_write = written[l->in] ? GRAD_ADD : GRAD_SET;
        written[l->in] = 1;
        if (l->in2 >= 0) {
            l->in2_write = written[l->in2] ? GRAD_ADD : GRAD_SET;
            written[l->in2] = 1;
        }
        if (l->residual_in >= 0) {
            l->residual_write = written[l->residual_in] ? GRAD_ADD : GRAD_SET;
            written[l->residual_in] = 1;
        }
    }
    for (int i = 0; i < net->n_acts; i++)
        net->acts[i].unwritten_grad = !written[i] && i != net->n_acts - 1;
    free(written);
}

void net_plan(struct net *net)
{
    plan_fusions(net);
    plan_gradient_writes(net);
}

/* whether layer l reads activation act */
static int reads(const struct layer *l, int act)
{
    return !l->fused && (l->in == act || l->in2 == act || l->residual_in == act);
}

/* 1 when a batch norm (or its fused ReLU) writes act */
static int batchnorm_writes(const struct net *net, int act)
{
    for (int i = 0; i < net->n_layers; i++) {
        const struct layer *l = &net->layers[i];
        const int writes = l->relu_out == act || (l->relu_out < 0 && l->out == act);
        if (l->kind == LAYER_BATCHNORM && writes)
            return 1;
    }
    return 0;
}

void net_plan_borders(struct net *net, int capacity)
{
    for (int a = 0; a < net->n_acts; a++) {
        struct activation *act = &net->acts[a];
        act->border = (struct bordered_layout){0};
        act->bordered = 0;
        if (a == 0 || a == net->n_acts - 1 || !batchnorm_writes(net, a))
            continue;
        /* every reader a sparse-eligible convolution with the same pad that
         * reads the flat layout, or every one that reads the lanes layout */
        int pad = -1, flat = 1, lanes = 1;
        struct conv_shape first = {0};
        for (int i = 0; i < net->n_layers && (flat || lanes); i++) {
            const struct layer *l = &net->layers[i];
            if (!reads(l, a))
                continue;
            const struct conv_shape s = conv_shape_of(net, l, capacity);
            const int ok = l->kind == LAYER_CONV && l->in == a && l->weight->sparse_eligible &&
                           (pad < 0 || pad == l->pad);
            flat = flat && ok && sparse_conv_reads_bordered(&s);
            lanes = lanes && ok && sparse_conv_reads_lanes(&s);
            if (pad < 0)
                first = s;
            pad = l->pad;
        }
        if (pad < 0 || !(flat || lanes))
            continue;
        if (lanes) {
            const size_t group = sparse_conv_lanes_group_stride(&first);
            const size_t groups = ((size_t)capacity + LANES - 1) / LANES;
            act->border = (struct bordered_layout){act->h, act->w, pad, groups * group, group};
        } else {
            act->border = (struct bordered_layout){act->h, act->w, pad,
                                                   sparse_conv_bordered_stride(&first), 0};
        }
    }
}

void net_plan_layouts(struct net *net)
{
    for (int a = 0; a < net->n_acts; a++) {
        struct activation *act = &net->acts[a];
        if (!act->border.channel_stride)
            continue;
        int all_sparse = 1;
        for (int i = 0; i < net->n_layers && all_sparse; i++)
            if (reads(&net->layers[i], a))
                all_sparse = net_layer_sparse(net, &net->layers[i]) != NULL;
        if (all_sparse && !act->bordered) /* the borders are zeros from here on */
            memset(act->data, 0, sizeof(float) * act->c * act->border.channel_stride);
        act->bordered = all_sparse;
    }
}
