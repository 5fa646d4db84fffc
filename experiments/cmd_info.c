/* dsrbench info: parameter counts and the per-tensor table of a model. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "flags.h"
#include "models.h"

static const char usage[] =
    "usage: dsrbench info --model M [--input CxHxW] [--classes K]\n"
    "\n"
    "Prints a model's total parameters, its sparse-eligible tensors and weights, and a\n"
    "per-tensor table. The input defaults to the model's usual data: 1x28x28 and 10 classes\n"
    "for the LeNets, 3x32x32 and 10 for WRNs, 3x224x224 and 1000 for ResNet-50.\n"
    "\nModels:\n";

static void print_count(const char *label, size_t n)
{
    char digits[32], grouped[48];
    snprintf(digits, sizeof digits, "%zu", n);
    const size_t len = strlen(digits);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            grouped[j++] = ',';
        grouped[j++] = digits[i];
    }
    grouped[j] = '\0';
    printf("%-18s %s\n", label, grouped);
}

static void print_table(const struct net *net)
{
    printf("\n%-34s %-16s %10s  %s\n", "tensor", "shape", "count", "sparse-eligible");
    for (int i = 0; i < net->n_params; i++) {
        const struct param *p = net->params[i];
        char shape[48] = "";
        for (int d = 0; d < p->ndim; d++) {
            const size_t used = strlen(shape);
            snprintf(shape + used, sizeof shape - used, d ? "x%d" : "%d", p->shape[d]);
        }
        printf("%-34s %-16s %10zu  %s\n", p->name, shape, p->count,
               p->sparse_eligible ? "yes" : "-");
    }
}

int cmd_info(int argc, char **argv)
{
    const char *model = NULL, *input = NULL;
    int classes = 0;
    struct flag flags[] = {
        {"model", FLAG_STRING, &model, 0, 0, "M", "lenet-300-100, lenet-5, wrn-D-K, resnet-50", 0},
        {"input", FLAG_STRING, &input, 0, 0, "CxHxW", "input image shape, e.g. 3x32x32", 0},
        {"classes", FLAG_INT, &classes, 2, 100000, "K", "number of classes", 0},
    };
    char head[2048];
    snprintf(head, sizeof head, "%s%s", usage, model_help);
    const int n = sizeof flags / sizeof flags[0];
    const int rc = flags_parse(flags, n, argc, argv, 2, "dsrbench info", head);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (!model) {
        fprintf(stderr, "dsrbench info: --model is required (see dsrbench info --help)\n");
        return 2;
    }
    struct model_spec spec;
    char err[512];
    if (model_parse(model, &spec, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench info: --model %s\n", err);
        return 2;
    }
    int c = 1, h = 28, w = 28, k = 10;
    if (spec.family == MODEL_WRN)
        c = 3, h = w = 32;
    else if (spec.family == MODEL_RESNET_50)
        c = 3, h = w = 224, k = 1000;
    if (input) {
        char tail;
        if (sscanf(input, "%dx%dx%d%c", &c, &h, &w, &tail) != 3 || c < 1 || c > 4 || h < 1 ||
            w < 1 || h > 4096 || w > 4096) {
            fprintf(stderr,
                    "dsrbench info: --input '%s': expected CxHxW with 1..4 channels and sides "
                    "1..4096, e.g. 3x32x32\n",
                    input);
            return 2;
        }
    }
    if (classes)
        k = classes;
    struct net *net = model_build(&spec, c, h, w, k);
    if (!net)
        return 2;
    size_t sparse = 0;
    int sparse_tensors = 0;
    for (int i = 0; i < net->n_params; i++) {
        if (net->params[i]->sparse_eligible) {
            sparse += net->params[i]->count;
            sparse_tensors++;
        }
    }
    char name[64];
    model_name(&spec, name, sizeof name);
    printf("%-18s %s\n%-18s %dx%dx%d, %d classes\n", "model", name, "input", c, h, w, k);
    print_count("parameters", net_param_count(net));
    print_count("sparse-eligible", sparse);
    printf("%-18s %d\n", "sparse tensors", sparse_tensors);
    print_count("dense (always)", net_param_count(net) - sparse);
    print_table(net);
    net_free(net);
    return 0;
}
