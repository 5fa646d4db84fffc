/* SGD with momentum exactly as PyTorch defines it (dampening 0):
 *   d = grad + weight_decay * w
 *   buf = momentum * buf + d          (buf starts at 0, so the first buf is d)
 *   d = nesterov ? d + momentum * buf : buf
 *   w -= lr * d
 * then masked weights are set back to zero. Momentum buffers live in the
 * parameters and are never reset by the optimizer. sgd_step first syncs the
 * parameters' storage (net_sync_params): masks are changed before the
 * forward pass or after the step, never between backward and step (a weight
 * deactivated there would fold its last gradient into its buffer on the
 * dense path but not while COMPACT). */
#ifndef DSRBENCH_OPTIM_H
#define DSRBENCH_OPTIM_H
#include "net.h"

struct sgd_config {
    float momentum;
    float weight_decay;
    int nesterov;
};

void sgd_step(struct net *net, const struct sgd_config *cfg, float lr);
/* zeroes the stored values at masked-out positions of every masked DENSE
 * parameter (a COMPACT one stores none after a sync) */
void net_apply_masks(struct net *net);

#endif
