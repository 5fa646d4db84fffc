#include "models.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char model_help[] =
    "  lenet-300-100   784-300-100-10 perceptron (all three weights sparse)\n"
    "  lenet-5         conv 20 5x5, pool, conv 50 5x5, pool, fc 500, fc (Caffe's LeNet)\n"
    "  wrn-D-K         pre-activation wide ResNet, depth D = 6n+4, width K (may be\n"
    "                  fractional: wrn-16-1.5), e.g. wrn-28-2\n"
    "  resnet-50       ResNet-50 v1 bottleneck, stride on the 3x3\n";

int model_parse(const char *name, struct model_spec *spec, char *err, size_t err_len)
{
    memset(spec, 0, sizeof *spec);
    spec->width_scale = 1.0;
    if (strcmp(name, "lenet-300-100") == 0) {
        spec->family = MODEL_LENET_300_100;
        return 0;
    }
    if (strcmp(name, "lenet-5") == 0) {
        spec->family = MODEL_LENET_5;
        return 0;
    }
    if (strcmp(name, "resnet-50") == 0) {
        spec->family = MODEL_RESNET_50;
        return 0;
    }
    if (strncmp(name, "wrn-", 4) == 0) {
        char *end;
        long depth = strtol(name + 4, &end, 10);
        if (end == name + 4 || *end != '-') {
            snprintf(err, err_len, "'%s': expected wrn-D-K with a whole depth D", name);
            return -1;
        }
        const char *k_text = end + 1;
        double width = strtod(k_text, &end);
        if (end == k_text || *end != '\0' || !(width > 0.0) || width > 64.0) {
            snprintf(err, err_len, "'%s': expected a width K in (0, 64] after the depth", name);
            return -1;
        }
        if (depth < 10 || depth > 1000 || (depth - 4) % 6 != 0) {
            snprintf(err, err_len, "'%s': WRN depth must be 6n+4 with n >= 1 (10, 16, 22, 28, ...)",
                     name);
            return -1;
        }
        spec->family = MODEL_WRN;
        spec->depth = (int)depth;
        spec->width = width;
        return 0;
    }
    snprintf(err, err_len,
             "unknown model '%s' (expected lenet-300-100, lenet-5, wrn-D-K or resnet-50)", name);
    return -1;
}

void model_name(const struct model_spec *spec, char *out, size_t out_len)
{
    switch (spec->family) {
    case MODEL_LENET_300_100: snprintf(out, out_len, "lenet-300-100"); break;
    case MODEL_LENET_5: snprintf(out, out_len, "lenet-5"); break;
    case MODEL_RESNET_50: snprintf(out, out_len, "resnet-50"); break;
    case MODEL_WRN: snprintf(out, out_len, "wrn-%d-%g", spec->depth, spec->width); break;
    }
}

int model_stage_widths(const struct model_spec *spec, double widths[MODEL_MAX_STAGES])
{
    switch (spec->family) {
    case MODEL_LENET_300_100:
        widths[0] = 300, widths[1] = 100;
        return 2;
    case MODEL_LENET_5:
        widths[0] = 20, widths[1] = 50, widths[2] = 500;
        return 3;
    case MODEL_WRN:
        widths[0] = 16;
        for (int g = 0; g < 3; g++)
            widths[g + 1] = 16.0 * spec->width * (1 << g);
        return 4;
    case MODEL_RESNET_50:
        widths[0] = 64;
        for (int g = 0; g < 4; g++)
            widths[g + 1] = 64 << g;
        return 5;
    }
    return 0;
}

/* a stage's width: the explicit one, else the published one times width_scale */
static int stage(const struct model_spec *spec, int i)
{
    if (spec->stage_width[i] > 0)
        return spec->stage_width[i];
    double widths[MODEL_MAX_STAGES];
    model_stage_widths(spec, widths);
    const int c = (int)lround(widths[i] * spec->width_scale);
    return c < 1 ? 1 : c;
}

static void build_lenet_300_100(struct net *net, const struct model_spec *spec, int classes)
{
    int x = net_flatten(net, 0);
    x = net_linear(net, "fc1", x, stage(spec, 0), 1);
    x = net_relu(net, x);
    x = net_linear(net, "fc2", x, stage(spec, 1), 1);
    x = net_relu(net, x);
    net_linear(net, "fc3", x, classes, 1);
}

static int build_lenet_5(struct net *net, const struct model_spec *spec, int classes)
{
    int x = net_conv(net, "conv1", 0, stage(spec, 0), 5, 1, 0, 1, 0);
    if (x < 0)
        return -1;
    x = net_maxpool(net, x, 2, 2, 0);
    x = x < 0 ? x : net_conv(net, "conv2", x, stage(spec, 1), 5, 1, 0, 1, 1);
    x = x < 0 ? x : net_maxpool(net, x, 2, 2, 0);
    if (x < 0)
        return -1;
    x = net_flatten(net, x);
    x = net_linear(net, "fc1", x, stage(spec, 2), 1);
    x = net_relu(net, x);
    net_linear(net, "fc2", x, classes, 1);
    return 0;
}

/* Pre-activation basic block as in the reference WRN code: when the channel
 * count changes, the shortcut is a 1x1 conv of the pre-activated input. */
static int wrn_block(struct net *net, const char *prefix, int x, int out_c, int stride)
{
    char name[56];
    const int equal = net->acts[x].c == out_c && stride == 1;
    snprintf(name, sizeof name, "%s.bn1", prefix);
    int pre = net_relu(net, net_batchnorm(net, name, x));
    snprintf(name, sizeof name, "%s.conv1", prefix);
    int y = net_conv(net, name, pre, out_c, 3, stride, 1, 0, 1);
    if (y < 0)
        return -1;
    snprintf(name, sizeof name, "%s.bn2", prefix);
    y = net_relu(net, net_batchnorm(net, name, y));
    snprintf(name, sizeof name, "%s.conv2", prefix);
    y = net_conv(net, name, y, out_c, 3, 1, 1, 0, 1);
    int shortcut = x;
    if (!equal) {
        snprintf(name, sizeof name, "%s.shortcut", prefix);
        shortcut = net_conv(net, name, pre, out_c, 1, stride, 0, 0, 0);
    }
    return net_add(net, shortcut, y);
}

static int build_wrn(struct net *net, const struct model_spec *spec, int classes)
{
    const int blocks = (spec->depth - 4) / 6;
    int x = net_conv(net, "conv1", 0, stage(spec, 0), 3, 1, 1, 0, 0);
    for (int g = 0; g < 3 && x >= 0; g++) {
        const int width = stage(spec, g + 1);
        for (int b = 0; b < blocks && x >= 0; b++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "block%d.%d", g + 1, b);
            x = wrn_block(net, prefix, x, width, (g > 0 && b == 0) ? 2 : 1);
        }
    }
    if (x < 0)
        return -1;
    x = net_relu(net, net_batchnorm(net, "bn", x));
    x = net_global_avgpool(net, x);
    net_linear(net, "fc", x, classes, 0);
    return 0;
}

static int conv_bn(struct net *net, const char *conv_name, const char *bn_name, int x, int out_c,
                   int kernel, int stride, int pad, int sparse)
{
    x = net_conv(net, conv_name, x, out_c, kernel, stride, pad, 0, sparse);
    return x < 0 ? -1 : net_batchnorm(net, bn_name, x);
}

static int bottleneck(struct net *net, const char *prefix, int x, int planes, int stride)
{
    char conv[56], bn[56];
    const int out_c = planes * 4;
    int y = x;
    for (int i = 1; i <= 3; i++) {
        snprintf(conv, sizeof conv, "%s.conv%d", prefix, i);
        snprintf(bn, sizeof bn, "%s.bn%d", prefix, i);
        const int k = i == 2 ? 3 : 1;
        y = conv_bn(net, conv, bn, y, i == 3 ? out_c : planes, k, i == 2 ? stride : 1, k / 2, 1);
        if (y < 0)
            return -1;
        if (i < 3)
            y = net_relu(net, y);
    }
    int shortcut = x;
    if (stride != 1 || net->acts[x].c != out_c) {
        snprintf(conv, sizeof conv, "%s.downsample.0", prefix);
        snprintf(bn, sizeof bn, "%s.downsample.1", prefix);
        shortcut = conv_bn(net, conv, bn, x, out_c, 1, stride, 0, 0);
    }
    return shortcut < 0 ? -1 : net_relu(net, net_add(net, shortcut, y));
}

static int build_resnet_50(struct net *net, const struct model_spec *spec, int classes)
{
    static const int blocks[4] = {3, 4, 6, 3};
    int x = conv_bn(net, "conv1", "bn1", 0, stage(spec, 0), 7, 2, 3, 0);
    x = x < 0 ? x : net_maxpool(net, net_relu(net, x), 3, 2, 1);
    for (int g = 0; g < 4 && x >= 0; g++) {
        for (int b = 0; b < blocks[g] && x >= 0; b++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d", g + 1, b);
            x = bottleneck(net, prefix, x, stage(spec, g + 1), (g > 0 && b == 0) ? 2 : 1);
        }
    }
    if (x < 0)
        return -1;
    x = net_global_avgpool(net, x);
    net_linear(net, "fc", x, classes, 1);
    return 0;
}

struct net *model_build(const struct model_spec *spec, int in_c, int in_h, int in_w,
                        int classes)
{
    struct net *net = net_create(in_c, in_h, in_w);
    int ok = 0;
    switch (spec->family) {
    case MODEL_LENET_300_100: build_lenet_300_100(net, spec, classes); break;
    case MODEL_LENET_5: ok = build_lenet_5(net, spec, classes); break;
    case MODEL_WRN: ok = build_wrn(net, spec, classes); break;
    case MODEL_RESNET_50: ok = build_resnet_50(net, spec, classes); break;
    }
    if (ok != 0) {
        char name[64];
        model_name(spec, name, sizeof name);
        fprintf(stderr, "dsrbench: %s cannot take %dx%dx%d inputs\n", name, in_c, in_h, in_w);
        net_free(net);
        return NULL;
    }
    return net;
}
