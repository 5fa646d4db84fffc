/* The model zoo: LeNet-300-100, LeNet-5, pre-activation WRN-d-k and
 * ResNet-50, built for any input shape and class count. Each marks its
 * sparse-eligible weights by the rule of PAPER.md: every conv and linear
 * weight except the first conv and the 1x1 downsampling convs; WRN keeps its
 * final linear layer dense. */
#ifndef DSRBENCH_MODELS_H
#define DSRBENCH_MODELS_H
#include <stddef.h>

#include "net.h"

enum model_family { MODEL_LENET_300_100, MODEL_LENET_5, MODEL_WRN, MODEL_RESNET_50 };

/* A stage is a set of layers that share one width: LeNet-300-100 fc1, fc2;
 * LeNet-5 conv1, conv2, fc1; WRN the stem and groups 1-3; ResNet-50 the stem
 * and the planes of stages 1-4. */
#define MODEL_MAX_STAGES 5

struct model_spec {
    enum model_family family;
    int depth;          /* WRN only: 6n+4 */
    double width;       /* WRN only: widening factor k */
    double width_scale; /* multiplies every layer's width (1 = as published) */
    /* > 0: the stage's width in channels instead of its published width times
     * width_scale rounded to the nearest (thin dense rounds stages up or down
     * to match a parameter budget) */
    int stage_width[MODEL_MAX_STAGES];
};

/* the model's stages and their published widths (before width_scale);
 * returns how many */
int model_stage_widths(const struct model_spec *spec, double widths[MODEL_MAX_STAGES]);
/* "lenet-300-100", "lenet-5", "wrn-D-K", "resnet-50"; on failure writes why into err */
int model_parse(const char *name, struct model_spec *spec, char *err, size_t err_len);
/* canonical name back, e.g. "wrn-28-2" */
void model_name(const struct model_spec *spec, char *out, size_t out_len);
/* NULL (with a message on stderr) when the input is too small for the model */
struct net *model_build(const struct model_spec *spec, int in_c, int in_h, int in_w,
                        int classes);
/* one line per model family, for --help */
extern const char model_help[];

#endif
