/* Layer fusion planned by net_set_capacity: a ReLU that only reads a batch
 * norm runs inside it, and a residual add whose later input is a convolution
 * nothing else reads runs inside that convolution. The PyTorch fixtures
 * (test_reference.c) check that fused nets compute the same; these check
 * that the fusions happen where they should, and only there; and that only
 * activations backward needs get a gradient buffer. */
#include <criterion/criterion.h>

#include "models.h"
#include "net.h"

static struct net *built(const char *model, double width_scale, int c, int h, int w)
{
    struct model_spec spec;
    char err[128];
    cr_assert_eq(model_parse(model, &spec, err, sizeof err), 0, "%s", err);
    spec.width_scale = width_scale;
    struct net *net = model_build(&spec, c, h, w, 10);
    cr_assert_not_null(net);
    cr_assert_eq(net_set_capacity(net, 2), 0);
    return net;
}

static int count_kind(const struct net *net, enum layer_kind kind, int fused)
{
    int n = 0;
    for (int i = 0; i < net->n_layers; i++)
        n += net->layers[i].kind == kind && net->layers[i].fused == fused;
    return n;
}

/* WRN-16-1: every batch norm feeds a ReLU; each of the 6 blocks' adds goes
 * into its last convolution (conv2, or the 1x1 shortcut computed after it) */
Test(fusion, wrn_fuses_every_relu_and_add)
{
    struct net *net = built("wrn-16-1", 1.0, 1, 28, 28);
    cr_expect_eq(count_kind(net, LAYER_RELU, 0), 0, "every ReLU follows a batch norm");
    cr_expect_eq(count_kind(net, LAYER_RELU, 1), count_kind(net, LAYER_BATCHNORM, 0));
    cr_expect_eq(count_kind(net, LAYER_ADD, 1), 6);
    cr_expect_eq(count_kind(net, LAYER_ADD, 0), 0);
    for (int i = 0; i < net->n_layers; i++) {
        const struct layer *l = &net->layers[i];
        if (l->kind == LAYER_BATCHNORM) {
            cr_expect_geq(l->relu_out, 0, "%s fuses its ReLU", l->name);
            cr_expect_null(net->acts[l->out].data, "%s's own output is not allocated", l->name);
        }
        if (l->residual_out >= 0) {
            cr_expect_eq(l->kind, LAYER_CONV);
            cr_expect_null(net->acts[l->out].data, "%s's own output is not allocated", l->name);
            cr_expect_not_null(net->acts[l->residual_out].data);
        }
    }
    net_free(net);
}

/* ResNet-50: ReLUs after an add stay; adds whose later input is a batch norm stay */
Test(fusion, resnet_keeps_relu_after_add_and_adds_after_batchnorm)
{
    struct net *net = built("resnet-50", 1.0 / 16, 3, 32, 32);
    cr_expect_eq(count_kind(net, LAYER_ADD, 1), 0);
    cr_expect_eq(count_kind(net, LAYER_ADD, 0), 16);
    cr_expect_eq(count_kind(net, LAYER_RELU, 0), 16, "the ReLU after each block's add");
    cr_expect_eq(count_kind(net, LAYER_RELU, 1), 1 + 16 * 2, "stem, bn1 and bn2 of each block");
    net_free(net);
}

/* LeNet-300-100 has no batch norm: nothing fuses */
Test(fusion, lenet_fuses_nothing)
{
    struct net *net = built("lenet-300-100", 1.0, 1, 28, 28);
    for (int i = 0; i < net->n_layers; i++)
        cr_expect_eq(net->layers[i].fused, 0);
    net_free(net);
}

/* Input gradients only where backward needs them: LeNet-300-100's flattened
 * images have none (fc1 skips its 784-row input gradient), every activation
 * a layer with parameters computes has one; in WRN-16-1, whose first layer
 * is a convolution, every activation in use has one. */
Test(fusion, gradients_only_downstream_of_parameters)
{
    struct net *lenet = built("lenet-300-100", 1.0, 1, 28, 28);
    cr_expect_null(lenet->acts[0].grad, "the images");
    cr_expect_eq(lenet->layers[0].kind, LAYER_FLATTEN);
    cr_expect_null(lenet->acts[lenet->layers[0].out].grad, "the flattened images");
    for (int i = 1; i < lenet->n_layers; i++)
        cr_expect_not_null(lenet->acts[lenet->layers[i].out].grad, "layer %d's output", i);
    net_free(lenet);
    struct net *wrn = built("wrn-16-1", 1.0, 1, 28, 28);
    for (int i = 1; i < wrn->n_acts; i++)
        cr_expect(wrn->acts[i].grad || !wrn->acts[i].data, "activation %d has data, no grad",
                  i);
    net_free(wrn);
}
