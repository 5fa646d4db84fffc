#include "optim.h"

void net_apply_masks(struct net *net)
{
    for (int i = 0; i < net->n_params; i++)
        param_zero_masked(net->params[i], net->params[i]->value);
}

void sgd_step(struct net *net, const struct sgd_config *cfg, float lr)
{
    const float m = cfg->momentum, wd = cfg->weight_decay;
    for (int i = 0; i < net->n_params; i++) {
        struct param *p = net->params[i];
        float *w = p->value, *buf = p->momentum;
        const float *g = p->grad;
        const long n = (long)p->count;
#pragma omp parallel for schedule(static)
        for (long j = 0; j < n; j++) {
            float d = g[j] + wd * w[j];
            if (m != 0.0f) {
                buf[j] = m * buf[j] + d;
                d = cfg->nesterov ? d + m * buf[j] : buf[j];
            }
            w[j] -= lr * d;
        }
    }
    net_apply_masks(net);
}
