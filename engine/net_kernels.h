/* The choice between dense and sparse kernels for a layer with a masked
 * weight (enum net_kernels in net.h), the weight's storage that goes with it
 * (param_storage.h), and the index of its active weights the sparse kernels
 * read, rebuilt only when the mask changed. */
#ifndef DSRBENCH_NET_KERNELS_H
#define DSRBENCH_NET_KERNELS_H
#include "net.h"
#include "sparse_weights.h"

/* The layer's index of active weights when it runs the sparse kernels in
 * this pass, else NULL (the dense kernels). Also brings the weight's storage
 * in line (param_storage.h: COMPACT exactly when the layer runs the sparse
 * kernels); O(1) when neither the mask nor net->kernels changed. */
struct sparse_weights *net_layer_sparse(struct net *net, struct layer *l);
void net_layer_sparse_free(struct layer *l);

/* --kernels auto: the density (active / positions) below which layer l runs
 * the sparse kernels */
double net_kernels_crossover(const struct net *net, const struct layer *l);
/* "dense", "sparse", "auto": 0, or -1 for any other name */
int net_kernels_parse(const char *name, enum net_kernels *out);
const char *net_kernels_name(enum net_kernels k);

#endif
