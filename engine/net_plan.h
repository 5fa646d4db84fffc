/* What net_set_capacity decides before it allocates (engine/net.c):
 *   fusion: a ReLU that is the only reader of a batch norm's output runs
 *   inside the batch norm (relu_out), and a residual add whose later input
 *   is a convolution nothing else reads runs inside that convolution
 *   (residual_in, residual_out); the absorbed layer is marked fused.
 *   gradient writes: in backward order, the first layer to write an
 *   activation's gradient stores it (GRAD_SET), later ones add, so no buffer
 *   needs zeroing at the start of backward.
 *   borders (net_plan_borders): which activations may be kept in one of the
 *   sparse convolutions' zero-bordered layouts (flat, or 16 images in a
 *   vector's lanes: layers.h), so that those read them in place instead of
 *   copying them into planes of their own. */
#ifndef DSRBENCH_NET_PLAN_H
#define DSRBENCH_NET_PLAN_H
#include "net.h"

void net_plan(struct net *net);
/* 1 when some layer still reads or writes activation act after fusion */
int net_activation_needed(const struct net *net, int act);
/* 1 when backward needs act's gradient: act is the logits or is computed,
 * through any chain of layers, by a layer with parameters. The images and
 * what is computed from them alone (LeNet-300-100's flattened input) need
 * none, so the first layer with parameters skips its input gradient (for
 * LeNet-300-100's fc1 a 784 x 300 x batch product on the dense path). */
int net_gradient_needed(const struct net *net, int act);
/* Plans the bordered layout (net.h) of every activation for batches of up to
 * `capacity` images; before the activations are allocated. */
void net_plan_borders(struct net *net, int capacity);
/* Which planned activations the next forward writes bordered: those whose
 * readers all run the sparse kernels now (a change to bordered zeroes the
 * buffer, whose borders nothing writes after). Called by net_forward after
 * the kernels are decided; backward reads what that forward wrote. */
void net_plan_layouts(struct net *net);

#endif
