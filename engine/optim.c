#include "optim.h"

#include "parallel.h"
#include "param_storage.h"

void net_apply_masks(struct net *net)
{
    for (int i = 0; i < net->n_params; i++)
        param_zero_masked(net->params[i], net->params[i]->value);
}

/* over the stored entries: all positions while DENSE, the active ones while
 * COMPACT (param_storage.h), whose inactive positions' buffers decay in a
 * list of their own */
static void sgd_param(struct param *p, const struct sgd_config *cfg, float lr)
{
    const float m = cfg->momentum, wd = cfg->weight_decay;
    float *w = p->value, *buf = p->momentum;
    const float *g = p->grad;
    const size_t n = param_stored(p);
    for (size_t j = 0; j < n; j++) {
        float d = g[j] + wd * w[j];
        if (m != 0.0f) {
            buf[j] = m * buf[j] + d;
            d = cfg->nesterov ? d + m * buf[j] : buf[j];
        }
        w[j] -= lr * d;
    }
    param_zero_masked(p, w);
    param_decay_resting(p, m);
}

/* the floats the step updates: a COMPACT weight counts its active entries */
static size_t stored_values(const struct net *net)
{
    size_t n = 0;
    for (int i = 0; i < net->n_params; i++)
        n += param_stored(net->params[i]);
    return n;
}

/* One parallel loop over the parameters, a tensor per task: a loop per
 * tensor would wait at a barrier per tensor, which on a busy machine costs a
 * scheduler time slice each. */

void sgd_step(struct net *net, const struct sgd_config *cfg, float lr)
{
    net_sync_params(net);
#pragma omp parallel for schedule(dynamic, 1) if (stored_values(net) >= PARALLEL_MIN_VALUES)
    for (int i = 0; i < net->n_params; i++)
        sgd_param(net->params[i], cfg, lr);
}
