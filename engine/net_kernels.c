#include "net_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparse_kernels.h"

struct layer_sparse {
    struct sparse_weights csr;
    int csr_valid;                 /* csr matches the mask of counted_version */
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

int net_kernels_parse(const char *name, enum net_kernels *out)
{
    static const char *const names[] = {"dense", "sparse"};
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

struct sparse_weights *net_layer_sparse(struct net *net, struct layer *l)
{
    const struct param *p = l->weight;
    if (net->kernels == NET_KERNELS_DENSE || (l->kind != LAYER_CONV && l->kind != LAYER_LINEAR) ||
        !p || !p->mask)
        return NULL;
    if (!l->sparse && !(l->sparse = calloc(1, sizeof *l->sparse)))
        out_of_memory(p);
    struct layer_sparse *ls = l->sparse;
    if (!ls->counted || ls->counted_version != p->mask_version) {
        size_t active = 0;
        for (size_t i = 0; i < p->count; i++)
            active += p->mask[i] != 0;
        ls->active = active;
        ls->counted = 1;
        ls->counted_version = p->mask_version;
        ls->csr_valid = 0;
    }
    const int taps = l->kind == LAYER_CONV ? p->shape[2] * p->shape[3] : 1;
    const int tasks = l->kind == LAYER_CONV ? sparse_conv_slot_tasks(net->workspace_threads) : 0;
    if (!ls->csr_valid || ls->csr.slot_tasks != tasks) {
        if (sparse_weights_build(&ls->csr, p->mask, p->shape[0], p->shape[1], taps, tasks) != 0)
            out_of_memory(p);
        ls->csr_valid = 1;
    }
    return &ls->csr;
}
