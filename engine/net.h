/* A network is a list of layers over numbered activation tensors (darknet
 * style, with explicit inputs so residual blocks need no special case).
 * Activation 0 is the input image batch; the last activation is the logits.
 * Parameters are allocated when the network is built; activations when a
 * batch capacity is set. The engine knows no training method: a parameter is
 * dense values plus an optional mask, and the engine keeps masked values and
 * gradients at zero. A masked weight whose layer runs the sparse kernels is
 * stored compactly instead (param_storage.h): value, grad and momentum hold
 * its active entries only. */
#ifndef DSRBENCH_NET_H
#define DSRBENCH_NET_H
#include <stddef.h>
#include <stdint.h>

#include "layers.h"
#include "rng.h"

/* a position and a float: an activation waiting for the next sync, or the
 * momentum of an inactive position (param_storage.h) */
struct pos_value {
    int32_t pos;
    float value;
};

/* COMPACT storage of a masked weight (param_storage.h). Between syncs the
 * entries may include positions deactivated since (their mask bit is 0, and
 * readers skip them) and miss the pending activations. */
struct param_compact {
    size_t stored;         /* entries in value, grad, momentum */
    int32_t *pos;          /* their positions, ascending */
    unsigned long version; /* the mask_version the entries were synced at */
    struct pos_value *pending; /* activated since the sync: (position, value) */
    size_t n_pending, pending_cap;
    /* inactive positions whose momentum is not +0, ascending: the dense
     * path keeps decaying their buffers (buf = m * buf), and a regrown
     * weight inherits its buffer (PAPER.md: momentum is never reset). The
     * values are as of resting_steps optimizer steps ago: the decay is
     * applied when they are read (sync, checkpoint), so a step costs O(1). */
    struct pos_value *resting;
    size_t n_resting, resting_cap;
    unsigned long resting_steps; /* decay steps owed, all at momentum resting_m */
    float resting_m;
};

enum param_init {
    INIT_HE_FAN_OUT,     /* conv weight: N(0, sqrt(2 / (k*k*C_out))) */
    INIT_UNIFORM_FAN_IN, /* linear weight: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
    INIT_ZERO,           /* biases, batch-norm beta */
    INIT_ONE,            /* batch-norm gamma */
};

struct param {
    char name[64];
    int ndim, shape[4]; /* PyTorch's shape: conv [out, in, k, k], linear [out, in] */
    size_t count;
    /* count floats each while DENSE; while COMPACT (compact != NULL)
     * compact->stored floats, entry k for position compact->pos[k]: walk
     * them with param_stored / param_stored_pos */
    float *value, *grad, *momentum;
    uint8_t *mask; /* NULL while dense; 1 = active; always count bytes */
    struct param_compact *compact; /* NULL: DENSE storage */
    /* bumped by every change of mask (param_mask_changed): the sparse
     * kernels rebuild their index of the active weights when it moves */
    unsigned long mask_version;
    int sparse_eligible;
    enum param_init init;
    int fan; /* fan used by the initializer */
};

enum layer_kind {
    LAYER_CONV,
    LAYER_BATCHNORM,
    LAYER_RELU,
    LAYER_MAXPOOL,
    LAYER_AVGPOOL,
    LAYER_GLOBAL_AVGPOOL,
    LAYER_FLATTEN,
    LAYER_LINEAR,
    LAYER_ADD,
};

struct layer {
    enum layer_kind kind;
    char name[56];
    int in, in2, out; /* activation indices (in2 only for add) */
    int kernel, stride, pad;
    struct param *weight, *bias; /* batch norm: gamma, beta */
    float *running_mean, *running_var, *saved_mean, *saved_invstd;
    int32_t *argmax;
    /* Fusion, planned by net_set_capacity: a batch norm whose output only a
     * ReLU reads writes that ReLU's output itself (relu_out: its activation
     * index, else -1); a convolution whose output only a residual add reads
     * computes the sum (residual_out: the add's output, residual_in: the add's
     * other input, else -1). The absorbed layer is then skipped (fused = 1). */
    int relu_out, residual_in, residual_out, fused;
    /* How backward writes the gradients of in and in2: GRAD_SET for the first
     * write to that buffer in backward order (no zeroing needed), else
     * GRAD_ADD. Planned by net_set_capacity. */
    enum grad_write in_write, in2_write, residual_write;
    /* Sparse kernels (net_kernels.h): the index of the weight's active
     * positions, NULL until needed; sparse_ran says whether the latest
     * forward ran them (else the dense kernels ran). */
    struct layer_sparse *sparse;
    int sparse_ran;
};

/* Which kernels masked convolutions and linear layers run: the dense ones
 * (inactive weights are zeros in the GEMM), the sparse ones (active weights
 * only, sparse_kernels.h), or per layer by its density (net_kernels.c). A
 * weight without a mask always runs dense. */
enum net_kernels {
    NET_KERNELS_DENSE,
    NET_KERNELS_SPARSE,
    NET_KERNELS_AUTO,
};

struct activation {
    int c, h, w; /* per image */
    /* data: NULL when no layer needs it (a fused batch norm's own output);
     * grad: also NULL when backward needs none (net_gradient_needed) */
    float *data, *grad;
    int unwritten_grad; /* no layer's backward writes grad: zeroed by every backward */
    /* One of the sparse convolutions' zero-bordered layouts (layers.h:
     * flat, or lanes when border.group_stride > 0) for data: planned
     * (border.channel_stride > 0, for the capacity; else 0) when a batch
     * norm writes this activation and only convolutions that can read it in
     * that layout read it; used by a forward (bordered) while all of them
     * run the sparse kernels (net_plan_layouts). data (64-byte aligned) has
     * room for either its plain or its bordered layout. */
    struct bordered_layout border;
    int bordered;
};

struct net {
    struct layer *layers;
    int n_layers;
    struct param **params;
    int n_params;
    struct activation *acts;
    int n_acts;
    int classes;
    int capacity; /* batch size the buffers hold */
    float *workspace;
    int workspace_threads; /* threads the convolution workspace is sized for */
    float bn_momentum, bn_eps;
    enum net_kernels kernels; /* NET_KERNELS_DENSE unless set */
    /* Per-layer timer, off while NULL (the default). Pointed at n_layers
     * doubles each, net_forward / net_backward store there the wall seconds
     * every layer took in their latest call (dsrbench bench's profile). */
    double *layer_forward_seconds, *layer_backward_seconds;
};

/* building; each adder returns the output activation index, or -1 (with a
 * message on stderr) when the shapes do not fit */
struct net *net_create(int in_c, int in_h, int in_w);
int net_conv(struct net *net, const char *name, int in, int out_c, int kernel, int stride,
             int pad, int with_bias, int sparse_eligible);
int net_batchnorm(struct net *net, const char *name, int in);
int net_relu(struct net *net, int in);
int net_maxpool(struct net *net, int in, int kernel, int stride, int pad);
int net_avgpool(struct net *net, int in, int kernel, int stride);
int net_global_avgpool(struct net *net, int in);
int net_flatten(struct net *net, int in);
int net_linear(struct net *net, const char *name, int in, int out, int sparse_eligible);
int net_add(struct net *net, int a, int b);
void net_free(struct net *net);

/* draws every parameter from its initializer, in table order, and resets the
 * batch-norm running statistics */
void net_init_params(struct net *net, struct rng *weight_stream);
/* n values drawn from p's initializer (methods that draw their own weights,
 * e.g. HashedNet's shared banks, draw them from the same distribution) */
void param_init_values(const struct param *p, float *out, size_t n, struct rng *stream);
/* Allocates activations for batches of up to `capacity` images and the
 * convolution workspace for omp_get_max_threads() threads (set the thread
 * count first; later, more threads are not used), and fuses every ReLU that
 * is the only reader of a batch norm's output into that batch norm. */
int net_set_capacity(struct net *net, int capacity);

float *net_input(struct net *net);
float *net_logits(struct net *net);
float *net_logits_grad(struct net *net);
void net_forward(struct net *net, int batch, int train);
/* needs net_logits_grad filled; zeroes and then accumulates all gradients */
void net_backward(struct net *net, int batch);

/* The stored entries of p, in ascending position order: all count positions
 * while DENSE, the active ones (plus positions deactivated since the latest
 * sync) while COMPACT. Entry k holds p->value[k], p->grad[k], p->momentum[k]
 * for position param_stored_pos(p, k); skip it when !p->mask[that position].
 * Activations since the latest sync are not listed until the next one. */
static inline size_t param_stored(const struct param *p)
{
    return p->compact ? p->compact->stored : p->count;
}
static inline size_t param_stored_pos(const struct param *p, size_t k)
{
    return p->compact ? (size_t)p->compact->pos[k] : k;
}

/* Brings every masked weight's storage in line with its layer's kernels
 * (COMPACT on the sparse kernels, else DENSE) and with its mask; O(1) when
 * nothing changed. net_forward, net_backward and sgd_step call it. */
void net_sync_params(struct net *net);

/* to be called after every change of p->mask (and after giving p a mask) */
void param_mask_changed(struct param *p);
/* x[i] = 0 wherever p's mask is off (x is p->value or p->grad); no-op
 * without a mask and while COMPACT (no inactive entries are stored after a
 * sync) */
void param_zero_masked(const struct param *p, float *x);

size_t net_param_count(const struct net *net);
/* a parameter by name, or NULL */
struct param *net_find_param(const struct net *net, const char *name);
/* batch-norm running statistics by name ("<layer>.running_mean" / ".running_var") */
float *net_find_buffer(const struct net *net, const char *name, size_t *count);

#endif
