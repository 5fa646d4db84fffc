/* The forward and backward passes of a net (net.h): each layer dispatched to
 * its kernels (layers.h; masked convolutions and linear layers to the dense
 * or the sparse ones, net_kernels.h), with per-layer timers when asked. */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net_kernels.h"
#include "net_plan.h"
#include "net_shapes.h"
#include "sparse_kernels.h"

/* the layout a sparse convolution reads its input in: NULL when plain */
static const struct bordered_layout *input_layout(const struct activation *in)
{
    return in->bordered ? &in->border : NULL;
}

static void forward_layer(struct net *net, struct layer *l, int batch, int train)
{
    const struct activation *in = &net->acts[l->in];
    struct activation *out = &net->acts[l->out];
    const size_t count = act_floats(in, batch);
    switch (l->kind) {
    case LAYER_CONV: {
        const struct conv_shape s = conv_shape_of(net, l, batch);
        const float *bias = l->bias ? l->bias->value : NULL;
        struct sparse_weights *sw = net_layer_sparse(net, l);
        l->sparse_ran = sw != NULL;
        if (sw)
            sparse_conv_forward(&s, sw, in->data, input_layout(in), l->weight->value, bias,
                                l->residual_out >= 0 ? net->acts[l->residual_in].data : NULL,
                                l->residual_out >= 0 ? net->acts[l->residual_out].data
                                                     : out->data,
                                net->workspace_threads);
        else if (l->residual_out >= 0)
            conv_residual_forward(&s, in->data, l->weight->value, bias,
                                  net->acts[l->residual_in].data,
                                  net->acts[l->residual_out].data, net->workspace,
                                  net->workspace_threads);
        else
            conv_forward(&s, in->data, l->weight->value, bias, out->data, net->workspace,
                         net->workspace_threads);
        break;
    }
    case LAYER_BATCHNORM: {
        const size_t m = (size_t)batch * in->h * in->w;
        const int relu = l->relu_out >= 0;
        float *y = relu ? net->acts[l->relu_out].data : out->data;
        const struct bordered_layout *yl = input_layout(&net->acts[relu ? l->relu_out : l->out]);
        if (train)
            (relu ? batchnorm_relu_forward_train : batchnorm_forward_train)(
                in->c, m, in->data, l->weight->value, l->bias->value, y, l->saved_mean,
                l->saved_invstd, l->running_mean, l->running_var, net->bn_momentum, net->bn_eps,
                yl);
        else
            (relu ? batchnorm_relu_forward_eval : batchnorm_forward_eval)(
                in->c, m, in->data, l->weight->value, l->bias->value, l->running_mean,
                l->running_var, net->bn_eps, y, yl);
        break;
    }
    case LAYER_RELU:
        if (!l->fused)
            relu_forward(count, in->data, out->data);
        break;
    case LAYER_MAXPOOL: {
        const struct pool_shape s = pool_shape_of(net, l, batch);
        maxpool_forward(&s, in->data, out->data, l->argmax);
        break;
    }
    case LAYER_AVGPOOL: {
        const struct pool_shape s = pool_shape_of(net, l, batch);
        avgpool_forward(&s, in->data, out->data);
        break;
    }
    case LAYER_GLOBAL_AVGPOOL:
        global_avgpool_forward((size_t)in->c * batch, in->h * in->w, in->data, out->data);
        break;
    case LAYER_FLATTEN: flatten_forward(in->c, batch, in->h * in->w, in->data, out->data); break;
    case LAYER_LINEAR: {
        const struct sparse_weights *sw = net_layer_sparse(net, l);
        l->sparse_ran = sw != NULL;
        if (sw)
            sparse_linear_forward(batch, sw, in->data, l->weight->value, l->bias->value,
                                  out->data, net->workspace_threads);
        else
            linear_forward(batch, in->c, out->c, in->data, l->weight->value, l->bias->value,
                           out->data, net->workspace);
        break;
    }
    case LAYER_ADD:
        if (!l->fused)
            add_forward(count, in->data, net->acts[l->in2].data, out->data);
        break;
    }
}

static double layer_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void net_forward(struct net *net, int batch, int train)
{
    net_sync_params(net); /* outside the layer timers */
    net_plan_layouts(net);
    double *seconds = net->layer_forward_seconds;
    for (int i = 0; i < net->n_layers; i++) {
        const double start = seconds ? layer_clock() : 0.0;
        forward_layer(net, &net->layers[i], batch, train);
        if (seconds)
            seconds[i] = layer_clock() - start;
    }
}

/* zeroes dx before a kernel that can only add, when it is the first writer */
static float *zeroed_if_first(float *dx, enum grad_write write, size_t count)
{
    if (dx && write == GRAD_SET)
        memset(dx, 0, sizeof(float) * count);
    return dx;
}

static void backward_layer(struct net *net, struct layer *l, int batch)
{
    const struct activation *in = &net->acts[l->in], *out = &net->acts[l->out];
    float *dx = in->grad; /* NULL for the input images */
    const size_t count = act_floats(in, batch);
    switch (l->kind) {
    case LAYER_CONV: {
        const struct conv_shape s = conv_shape_of(net, l, batch);
        float *dbias = l->bias ? l->bias->grad : NULL;
        struct sparse_weights *sw = net_layer_sparse(net, l);
        if (in->bordered && !sw) {
            /* the forward wrote the input for the sparse kernels: only a mask
             * change between forward and backward could bring this about */
            fprintf(stderr, "dsrbench: %s's kernels changed between forward and backward\n",
                    l->name);
            exit(1);
        }
        if (sw)
            sparse_conv_backward(&s, sw, in->data, input_layout(in), l->weight->value,
                                 l->residual_out >= 0 ? net->acts[l->residual_out].grad
                                                      : out->grad,
                                 dx, l->in_write, l->weight->grad, dbias,
                                 l->residual_out >= 0 ? net->acts[l->residual_in].grad : NULL,
                                 l->residual_write, net->workspace_threads);
        else if (l->residual_out >= 0)
            conv_residual_backward(&s, in->data, l->weight->value,
                                   net->acts[l->residual_out].grad, dx, l->in_write,
                                   l->weight->grad, dbias, net->acts[l->residual_in].grad,
                                   l->residual_write, net->workspace, net->workspace_threads);
        else
            conv_backward(&s, in->data, l->weight->value, out->grad, dx, l->in_write,
                          l->weight->grad, dbias, net->workspace, net->workspace_threads);
        break;
    }
    case LAYER_BATCHNORM: {
        const size_t m = (size_t)batch * in->h * in->w;
        if (l->relu_out >= 0)
            batchnorm_relu_backward(in->c, m, in->data, l->weight->value, l->bias->value,
                                    l->saved_mean, l->saved_invstd,
                                    net->acts[l->relu_out].grad, dx, l->in_write,
                                    l->weight->grad, l->bias->grad);
        else
            batchnorm_backward(in->c, m, in->data, l->weight->value, l->saved_mean,
                               l->saved_invstd, out->grad, dx, l->in_write, l->weight->grad,
                               l->bias->grad);
        break;
    }
    case LAYER_RELU:
        if (dx && !l->fused)
            relu_backward(count, out->data, out->grad, zeroed_if_first(dx, l->in_write, count));
        break;
    case LAYER_MAXPOOL: {
        const struct pool_shape s = pool_shape_of(net, l, batch);
        if (dx)
            maxpool_backward(&s, l->argmax, out->grad, zeroed_if_first(dx, l->in_write, count));
        break;
    }
    case LAYER_AVGPOOL: {
        const struct pool_shape s = pool_shape_of(net, l, batch);
        if (dx)
            avgpool_backward(&s, out->grad, zeroed_if_first(dx, l->in_write, count));
        break;
    }
    case LAYER_GLOBAL_AVGPOOL:
        if (dx)
            global_avgpool_backward((size_t)in->c * batch, in->h * in->w, out->grad,
                                    zeroed_if_first(dx, l->in_write, count));
        break;
    case LAYER_FLATTEN:
        if (dx)
            flatten_backward(in->c, batch, in->h * in->w, out->grad,
                             zeroed_if_first(dx, l->in_write, count));
        break;
    case LAYER_LINEAR: {
        struct sparse_weights *sw = net_layer_sparse(net, l);
        if (sw)
            sparse_linear_backward(batch, sw, in->data, l->weight->value, out->grad, dx,
                                   l->in_write, l->weight->grad, l->bias->grad,
                                   net->workspace_threads);
        else
            linear_backward(batch, in->c, out->c, in->data, l->weight->value, out->grad, dx,
                            l->in_write, l->weight->grad, l->bias->grad, net->workspace);
        break;
    }
    case LAYER_ADD:
        if (!l->fused && out->grad) /* without it, neither input needs one */
            add_backward(count, out->grad, dx, l->in_write, net->acts[l->in2].grad,
                         l->in2_write);
        break;
    }
}

void net_backward(struct net *net, int batch)
{
    for (int i = 1; i < net->n_acts; i++)
        if (net->acts[i].grad && net->acts[i].unwritten_grad)
            memset(net->acts[i].grad, 0, sizeof(float) * act_floats(&net->acts[i], batch));
    net_sync_params(net);
    for (int i = 0; i < net->n_params; i++)
        memset(net->params[i]->grad, 0, sizeof(float) * param_stored(net->params[i]));
    double *seconds = net->layer_backward_seconds;
    for (int i = net->n_layers - 1; i >= 0; i--) {
        const double start = seconds ? layer_clock() : 0.0;
        backward_layer(net, &net->layers[i], batch);
        if (seconds)
            seconds[i] = layer_clock() - start;
    }
    for (int i = 0; i < net->n_params; i++)
        param_zero_masked(net->params[i], net->params[i]->grad);
}
