/* dsrbench info: parameter counts and the per-tensor table of a model, and
 * with --method those of the net that method trains at --sparsity, set up
 * as a training run sets it up. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "flags.h"
#include "method_setup.h"
#include "models.h"

static const char usage[] =
    "usage: dsrbench info --model M [--input CxHxW] [--classes K]\n"
    "                     [--method X [--sparsity S] [--method-option NAME=VALUE]...]\n"
    "\n"
    "Prints a model's total parameters, its sparse-eligible tensors and weights, and a\n"
    "per-tensor table. The input defaults to the model's usual data: 1x28x28 and 10 classes\n"
    "for the LeNets, 3x32x32 and 10 for WRNs, 3x224x224 and 1000 for ResNet-50.\n"
    "With --method, the net is the one that method trains (thin-dense narrows it) and\n"
    "info adds its active parameters at the start of training (sparse methods: the\n"
    "initial mask; hashednet: the learnable count, banks plus dense parameters) and\n"
    "the method's own columns (thin-dense: the width factor and the budget it matches).\n"
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

static void print_counts(const struct net *net)
{
    size_t sparse = 0;
    int sparse_tensors = 0;
    for (int i = 0; i < net->n_params; i++) {
        if (net->params[i]->sparse_eligible) {
            sparse += net->params[i]->count;
            sparse_tensors++;
        }
    }
    print_count("parameters", net_param_count(net));
    print_count("sparse-eligible", sparse);
    printf("%-18s %d\n", "sparse tensors", sparse_tensors);
    print_count("dense (always)", net_param_count(net) - sparse);
}

/* the method's learnable count and its own columns at the start of training */
static void print_method(struct method_run *run)
{
    print_count("active", method_run_learnable(run));
    struct method_stat stats[8];
    const int n = run->method->stats ? run->method->stats(run, stats, 8) : 0;
    for (int i = 0; i < n; i++)
        printf("%-18s %.9g\n", stats[i].name, stats[i].value);
}

int cmd_info(int argc, char **argv)
{
    const char *model = NULL, *input = NULL, *method_name = NULL;
    int classes = 0;
    double sparsity = -1;
    struct flag_list method_options = {0};
    struct flag flags[] = {
        {"model", FLAG_STRING, &model, 0, 0, "M", "lenet-300-100, lenet-5, wrn-D-K, resnet-50", 0},
        {"input", FLAG_STRING, &input, 0, 0, "CxHxW", "input image shape, e.g. 3x32x32", 0},
        {"classes", FLAG_INT, &classes, 2, 100000, "K", "number of classes", 0},
        {"method", FLAG_STRING, &method_name, 0, 0, "X",
         "count the net this method trains (dsrbench methods lists them)", 0},
        {"sparsity", FLAG_DOUBLE, &sparsity, 0, 0.999999, "S",
         "with a sparse --method: fraction of sparse-eligible weights that are zero "
         "(default 0.9)", 0},
        {"method-option", FLAG_STRING_LIST, &method_options, 0, 0, "NAME=VALUE",
         "set a method option (repeatable)", 0},
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
    const struct method *method = method_name ? method_find(method_name) : NULL;
    if (method_name && !method) {
        fprintf(stderr, "dsrbench info: --method '%s' is unknown (dsrbench methods lists them)\n",
                method_name);
        return 2;
    }
    if (!method && (flag_find(flags, n, "sparsity")->seen || method_options.count)) {
        fprintf(stderr, "dsrbench info: --sparsity and --method-option need a --method\n");
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
    char name[64];
    model_name(&spec, name, sizeof name);
    struct method_run run = {0};
    if (method) {
        const struct method_setup_config cfg = {
            .method = method, .sparsity = sparsity, .options = method_options.items,
            .n_options = method_options.count, .seed = 1, .in_c = c, .in_h = h, .in_w = w,
            .classes = k, .command = "dsrbench info"};
        if (method_run_setup(&run, &spec, &cfg) != 0) {
            method_run_teardown(&run);
            return 2;
        }
    } else {
        run.net = model_build(&spec, c, h, w, k);
        if (!run.net)
            return 2;
    }
    printf("%-18s %s\n%-18s %dx%dx%d, %d classes\n", "model", name, "input", c, h, w, k);
    if (method)
        printf("%-18s %s, sparsity %g\n", "method", method->name, run.sparsity);
    print_counts(run.net);
    if (method)
        print_method(&run);
    print_table(run.net);
    method_run_teardown(&run);
    return 0;
}
