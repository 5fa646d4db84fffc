/* Shapes of a net's activations and layers at a batch size, shared by the
 * builder (net.c, which sizes buffers and workspaces) and the passes
 * (net_pass.c). */
#ifndef DSRBENCH_NET_SHAPES_H
#define DSRBENCH_NET_SHAPES_H
#include "net.h"

static inline size_t act_floats(const struct activation *a, int batch)
{
    return (size_t)a->c * a->h * a->w * batch;
}

static inline struct conv_shape conv_shape_of(const struct net *net, const struct layer *l, int batch)
{
    const struct activation *in = &net->acts[l->in], *out = &net->acts[l->out];
    return (struct conv_shape){.batch = batch, .in_c = in->c, .in_h = in->h, .in_w = in->w,
                               .out_c = out->c, .out_h = out->h, .out_w = out->w,
                               .kernel = l->kernel, .stride = l->stride, .pad = l->pad};
}

static inline struct pool_shape pool_shape_of(const struct net *net, const struct layer *l, int batch)
{
    const struct activation *in = &net->acts[l->in], *out = &net->acts[l->out];
    return (struct pool_shape){.planes = in->c * batch, .in_h = in->h, .in_w = in->w,
                               .out_h = out->h, .out_w = out->w, .kernel = l->kernel,
                               .stride = l->stride, .pad = l->pad};
}

#endif
