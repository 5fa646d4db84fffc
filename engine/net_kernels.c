#include "net_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_shapes.h"
#include "param_storage.h"
#include "sparse_kernels.h"

struct layer_sparse {
    struct sparse_weights csr;
    int csr_valid;                 /* csr matches the mask of csr.mask_version */
    int counted;                   /* active is known */
    unsigned long counted_version; /* the mask_version active was counted at */
    size_t active;
};

void net_layer_sparse_free(struct layer *l)
{
    if (!l->sparse)
        return;
    sparse_weights_free(&l->sparse->csr);
    free(l->sparse);
    l->sparse = NULL;
}

/* Crossover densities for --kernels auto: a masked layer runs the sparse
 * kernels when its density (active / positions) is below the crossover of
 * its kind, else the dense ones. Measured at 1 thread on the 2-core AMD EPYC
 * (AVX-512) this was written on, quiet (load average 1.0-1.3), twice
 * (tables in results/reference/sparse-crossover/; wrn-* at commit bd07883,
 * after the dense same-size convolutions stopped building column matrices,
 * lenet-* before):
 *   dsrbench bench --profile quick --model wrn-28-2 --model wrn-16-1 --threads 1 \
 *     --sparsity 0.3 --sparsity 0.4 --sparsity 0.5 --sparsity 0.6 --sparsity 0.7 \
 *     --sparsity 0.8 --kernels dense --kernels sparse --part steps --no-torch
 *   dsrbench bench --profile full --model lenet-300-100 --threads 1 --sparsity 0.3 \
 *     ... --sparsity 0.8 --kernels dense --kernels sparse --part steps --no-torch
 * Per layer, the density where the sparse kernels' forward + backward
 * (layers.csv forward_min_ms + backward_min_ms, interpolated) meets the dense
 * kernels' fastest over the run (the dense time does not depend on density;
 * taking its fastest keeps out the runs this virtual machine made ~1.3x
 * slower). A convolution's crossover falls as its input channels grow (the
 * dense GEMM gets more efficient, the sparse kernel less so), per in_c*k*k,
 * the medians of both runs: 144 (WRN-28-2's first block conv at 32x32:
 * 0.41-0.44, WRN-16-1's 16-channel 28x28 layers: 0.34-0.41): 0.40; 288
 * (WRN-28-2's 32x32: 0.38-0.43, WRN-16-1's 14x14: 0.32-0.38): 0.39; 576
 * (16x16: 0.36-0.38, 7x7: 0.26-0.31): 0.36; 1152 (WRN-28-2's 8x8:
 * 0.26-0.30): 0.29 (before the dense path's change: 0.70 / 0.53 / 0.45 /
 * 0.38). Strided convolutions (phase planes, more padding; their dense path
 * unchanged) cross lower, by the same rule: 144 (WRN-16-1's first
 * downsampling): 0.29-0.50; 288: 0.22-0.40; 576: 0.24-0.30, as before.
 * Linear layers (LeNet-300-100's 784-300-100-10): 0.27-0.29. Convolutions
 * on the lanes kernels (sparse_kernels.h: stride 1, planes of at most 100
 * positions) cross higher, the same command and rule with their engine
 * (commit 34fba34; lanes1-* and lanes2-* in the same folder): 576
 * (WRN-16-1's 7x7: 0.44-0.55): 0.49; 1152 (WRN-28-2's 8x8: 0.42-0.49):
 * 0.48. In those runs the other layers crossed where the table puts them
 * (32x32 0.43, 16x16 and 14x14 0.39-0.41, 28x28 0.37-0.41, strided
 * 0.23-0.30). Near a crossover both kernels take about the same time, so
 * these need not be exact. */
struct crossover {
    int ckk;
    double density;
};
static const struct crossover conv_crossover[] = {
    {144, 0.40}, {288, 0.39}, {576, 0.36}, {1152, 0.29}};
static const struct crossover strided_crossover[] = {{144, 0.48}, {288, 0.33}, {576, 0.27}};
static const struct crossover lanes_crossover[] = {{576, 0.49}, {1152, 0.48}};
#define LINEAR_CROSSOVER 0.27

/* the table's density at ckk: linear in log2(ckk) between the measured
 * points, the end points' beyond them */
static double interpolate(const struct crossover *table, int n, double ckk)
{
    if (ckk <= table[0].ckk)
        return table[0].density;
    for (int i = 1; i < n; i++)
        if (ckk <= table[i].ckk) {
            const double a = log2(table[i - 1].ckk), b = log2(table[i].ckk);
            const double f = (log2(ckk) - a) / (b - a);
            return table[i - 1].density + f * (table[i].density - table[i - 1].density);
        }
    return table[n - 1].density;
}

double net_kernels_crossover(const struct net *net, const struct layer *l)
{
    if (l->kind == LAYER_LINEAR)
        return LINEAR_CROSSOVER;
    const double ckk = (double)net->acts[l->in].c * l->kernel * l->kernel;
    if (l->stride > 1)
        return interpolate(strided_crossover,
                           (int)(sizeof strided_crossover / sizeof strided_crossover[0]), ckk);
    const struct conv_shape s = conv_shape_of(net, l, 1);
    if (sparse_conv_reads_lanes(&s))
        return interpolate(lanes_crossover,
                           (int)(sizeof lanes_crossover / sizeof lanes_crossover[0]), ckk);
    return interpolate(conv_crossover, (int)(sizeof conv_crossover / sizeof conv_crossover[0]),
                       ckk);
}

int net_kernels_parse(const char *name, enum net_kernels *out)
{
    static const char *const names[] = {"dense", "sparse", "auto"};
    for (int k = 0; k < (int)(sizeof names / sizeof names[0]); k++)
        if (strcmp(name, names[k]) == 0) {
            *out = (enum net_kernels)k;
            return 0;
        }
    return -1;
}

const char *net_kernels_name(enum net_kernels k)
{
    switch (k) {
    case NET_KERNELS_DENSE: return "dense";
    case NET_KERNELS_SPARSE: return "sparse";
    case NET_KERNELS_AUTO: return "auto";
    }
    return "?";
}

static void out_of_memory(const struct param *p)
{
    fprintf(stderr, "dsrbench: out of memory indexing the active weights of %s\n", p->name);
    exit(1);
}

/* whether layer l runs the sparse kernels at its current mask */
static int runs_sparse(struct net *net, struct layer *l, struct layer_sparse *ls)
{
    struct param *p = l->weight;
    if (net->kernels == NET_KERNELS_SPARSE)
        return 1;
    if (p->compact) {
        param_sync(p); /* after which the entries are exactly the active ones */
        ls->active = p->compact->stored;
    } else if (!ls->counted || ls->counted_version != p->mask_version) {
        size_t active = 0;
        for (size_t i = 0; i < p->count; i++)
            active += p->mask[i] != 0;
        ls->active = active;
    }
    ls->counted = 1;
    ls->counted_version = p->mask_version;
    return (double)ls->active < net_kernels_crossover(net, l) * (double)p->count;
}

/* Decides layer l's kernels, brings its weight's storage in line (COMPACT on
 * the sparse kernels, else DENSE) and, for the sparse kernels, its index of
 * active weights: the index when l runs the sparse kernels, else NULL. */
struct sparse_weights *net_layer_sparse(struct net *net, struct layer *l)
{
    struct param *p = l->weight;
    if ((l->kind != LAYER_CONV && l->kind != LAYER_LINEAR) || !p || !p->mask)
        return NULL;
    if (net->kernels == NET_KERNELS_DENSE) {
        param_to_dense(p);
        return NULL;
    }
    if (!l->sparse && !(l->sparse = calloc(1, sizeof *l->sparse)))
        out_of_memory(p);
    struct layer_sparse *ls = l->sparse;
    if (!runs_sparse(net, l, ls)) {
        param_to_dense(p);
        return NULL;
    }
    param_to_compact(p);
    param_sync(p);
    const int taps = l->kind == LAYER_CONV ? p->shape[2] * p->shape[3] : 1;
    const int tasks = l->kind == LAYER_CONV ? sparse_conv_slot_tasks(net->workspace_threads) : 0;
    if (!ls->csr_valid || ls->csr.mask_version != p->mask_version ||
        ls->csr.slot_tasks != tasks) {
        if (sparse_weights_build(&ls->csr, p->mask, p->shape[0], p->shape[1], taps, tasks, 1) !=
            0)
            out_of_memory(p);
        ls->csr.mask_version = p->mask_version;
        ls->csr_valid = 1;
    }
    return &ls->csr;
}

void net_sync_params(struct net *net)
{
    for (int i = 0; i < net->n_layers; i++)
        net_layer_sparse(net, &net->layers[i]);
}
