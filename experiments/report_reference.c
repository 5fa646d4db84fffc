/* The paper's own numbers (PAPER.md "Reference results"), stated beside ours
 * in the paper profile. Test accuracy in %, median of the paper's runs;
 * ImageNet top-1. */
#include "report.h"

#include <math.h>
#include <string.h>

struct reference {
    const char *model, *data, *method;
    double sparsity, accuracy;
};

static const struct reference references[] = {
    {"wrn-28-2", "cifar10", "dense", 0, 94.70},
    {"wrn-28-2", "cifar10", "dsr", 0.9, 93.63},
    {"wrn-28-2", "cifar10", "dsr", 0.8, 94.47},
    {"wrn-28-2", "cifar10", "dsr", 0.7, 94.52},
    {"wrn-28-2", "cifar10", "dsr", 0.6, 94.69},
    {"wrn-28-2", "cifar10", "dsr", 0.5, 94.71},
    {"wrn-28-2", "cifar10", "compressed", 0.9, 93.78},
    {"wrn-28-2", "cifar10", "compressed", 0.8, 94.16},
    {"wrn-28-2", "cifar10", "compressed", 0.7, 94.54},
    {"wrn-28-2", "cifar10", "compressed", 0.6, 94.52},
    {"wrn-28-2", "cifar10", "compressed", 0.5, 94.52},
    {"wrn-28-2", "cifar10", "set", 0.9, 93.27},
    {"wrn-28-2", "cifar10", "set", 0.8, 94.28},
    {"wrn-28-2", "cifar10", "set", 0.7, 94.37},
    {"wrn-28-2", "cifar10", "set", 0.6, 94.57},
    {"wrn-28-2", "cifar10", "set", 0.5, 94.74},
    {"wrn-28-2", "cifar10", "deepr", 0.9, 91.38},
    {"wrn-28-2", "cifar10", "deepr", 0.8, 92.42},
    {"wrn-28-2", "cifar10", "deepr", 0.7, 92.58},
    {"wrn-28-2", "cifar10", "deepr", 0.6, 92.79},
    {"wrn-28-2", "cifar10", "deepr", 0.5, 93.01},
    {"wrn-28-2", "cifar10", "static", 0.9, 92.11},
    {"wrn-28-2", "cifar10", "static", 0.8, 93.51},
    {"wrn-28-2", "cifar10", "static", 0.7, 93.83},
    {"wrn-28-2", "cifar10", "static", 0.6, 94.23},
    {"wrn-28-2", "cifar10", "static", 0.5, 94.28},
    {"resnet-50", "imagenet-shards", "dense", 0, 74.9},
    {"resnet-50", "imagenet-shards", "dsr", 0.8, 73.3},
    {"resnet-50", "imagenet-shards", "dsr", 0.9, 71.6},
    {"resnet-50", "imagenet-shards", "compressed", 0.8, 73.2},
    {"resnet-50", "imagenet-shards", "compressed", 0.9, 70.3},
};

double report_paper_accuracy(const char *model, const char *data, const char *method,
                             double sparsity)
{
    for (size_t i = 0; i < sizeof references / sizeof references[0]; i++) {
        const struct reference *r = &references[i];
        if (strcmp(r->model, model) == 0 && strcmp(r->data, data) == 0 &&
            strcmp(r->method, method) == 0 && fabs(r->sparsity - sparsity) < 1e-9)
            return r->accuracy;
    }
    return NAN;
}
