/* Copying a read checkpoint into a net: every check first, then the copy, so
 * a refused checkpoint leaves the net as it was. */
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "checkpoint_error.h"
#include "param_storage.h"

static void format_shape(int ndim, const int *shape, char *out, size_t len)
{
    size_t used = (size_t)snprintf(out, len, "[");
    for (int d = 0; d < ndim && used < len; d++)
        used += (size_t)snprintf(out + used, len - used, "%s%d", d ? ", " : "", shape[d]);
    if (used < len)
        snprintf(out + used, len - used, "]");
}

static int check_identity(const struct checkpoint *c, const struct checkpoint_identity *id,
                          char *err, size_t err_len)
{
    const struct checkpoint_meta *m = &c->meta;
    if (strcmp(m->model, id->model) != 0)
        return checkpoint_error(err, err_len, c->path, "holds a %s; this net is a %s", m->model,
                                id->model);
    if (!id->method)
        return 0;
    if (strcmp(m->method, id->method) != 0)
        return checkpoint_error(err, err_len, c->path,
                                "is a run of method %s; this run's method is %s", m->method,
                                id->method);
    if (m->sparsity != id->sparsity)
        return checkpoint_error(err, err_len, c->path,
                                "is a run at sparsity %.17g; this run's is %.17g", m->sparsity,
                                id->sparsity);
    return 0;
}

static int check_params(const struct checkpoint *c, const struct net *net, unsigned parts,
                        char *err, size_t err_len)
{
    if (c->n_params != net->n_params)
        return checkpoint_error(err, err_len, c->path,
                                "holds %d parameter tensors; this net has %d", c->n_params,
                                net->n_params);
    for (int i = 0; i < net->n_params; i++) {
        const struct checkpoint_param *s = &c->params[i];
        const struct param *p = net->params[i];
        const int same_shape =
            s->ndim == p->ndim && memcmp(s->shape, p->shape, sizeof(int) * (size_t)p->ndim) == 0;
        if (strcmp(s->name, p->name) != 0 || !same_shape) {
            char saved[64], here[64];
            format_shape(s->ndim, s->shape, saved, sizeof saved);
            format_shape(p->ndim, p->shape, here, sizeof here);
            return checkpoint_error(err, err_len, c->path,
                                    "parameter %d is %s %s; this net's is %s %s", i, s->name, saved,
                                    p->name, here);
        }
        if ((parts & CHECKPOINT_MASKS) && !s->mask != !p->mask)
            return checkpoint_error(err, err_len, c->path, "%s %s a mask and this net's %s",
                                    p->name, s->mask ? "has" : "has no",
                                    s->mask ? "has none" : "has one");
    }
    return 0;
}

static int check_buffers(const struct checkpoint *c, const struct net *net, char *err,
                         size_t err_len)
{
    int b = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const struct layer *l = &net->layers[i];
        if (l->kind != LAYER_BATCHNORM)
            continue;
        for (int k = 0; k < 2; k++, b++) {
            char name[96];
            snprintf(name, sizeof name, "%s.%s", l->name, k ? "running_var" : "running_mean");
            const size_t count = (size_t)l->weight->shape[0];
            if (b >= c->n_buffers || strcmp(c->buffers[b].name, name) != 0 ||
                c->buffers[b].count != count)
                return checkpoint_error(
                    err, err_len, c->path,
                    "batch-norm buffer %d is %s (%zu values); this net's is %s (%zu)", b,
                    b < c->n_buffers ? c->buffers[b].name : "missing",
                    b < c->n_buffers ? c->buffers[b].count : 0, name, count);
        }
    }
    if (b != c->n_buffers)
        return checkpoint_error(err, err_len, c->path,
                                "holds %d batch-norm buffers; this net has %d", c->n_buffers, b);
    return 0;
}

static void copy_buffers(const struct checkpoint *c, struct net *net)
{
    int b = 0;
    for (int i = 0; i < net->n_layers; i++) {
        struct layer *l = &net->layers[i];
        if (l->kind != LAYER_BATCHNORM)
            continue;
        memcpy(l->running_mean, c->buffers[b].data, sizeof(float) * c->buffers[b].count);
        memcpy(l->running_var, c->buffers[b + 1].data, sizeof(float) * c->buffers[b + 1].count);
        b += 2;
    }
}

static void recount(struct sparse_store *store)
{
    for (int t = 0; t < store->count; t++) {
        const struct param *p = store->tensors[t].param;
        size_t active = 0;
        for (size_t i = 0; i < p->count; i++)
            active += p->mask[i] != 0;
        store->tensors[t].active = active;
    }
}

int checkpoint_apply(const struct checkpoint *c, struct net *net, struct sparse_store *store,
                     const struct checkpoint_identity *id, unsigned parts, char *err,
                     size_t err_len)
{
    if (check_identity(c, id, err, err_len) != 0 || check_params(c, net, parts, err, err_len) != 0)
        return -1;
    if ((parts & CHECKPOINT_BN_STATS) && check_buffers(c, net, err, err_len) != 0)
        return -1;
    for (int i = 0; i < net->n_params; i++) {
        const struct checkpoint_param *s = &c->params[i];
        struct param *p = net->params[i];
        param_to_dense(p); /* written position by position; the next sync re-stores it */
        if (parts & CHECKPOINT_VALUES)
            memcpy(p->value, s->value, sizeof(float) * p->count);
        if (parts & CHECKPOINT_MOMENTUM)
            memcpy(p->momentum, s->momentum, sizeof(float) * p->count);
        if ((parts & CHECKPOINT_MASKS) && p->mask) {
            memcpy(p->mask, s->mask, p->count);
            param_mask_changed(p);
        }
        param_zero_masked(p, p->value);
    }
    if (parts & CHECKPOINT_BN_STATS)
        copy_buffers(c, net);
    if ((parts & CHECKPOINT_MASKS) && store)
        recount(store);
    return 0;
}

int checkpoint_load_into(const char *path, struct net *net, struct sparse_store *store,
                         const char *model, unsigned parts, char *err, size_t err_len)
{
    struct checkpoint c;
    if (checkpoint_read(path, &c, err, err_len) != 0)
        return -1;
    const struct checkpoint_identity id = {.model = model};
    const int rc = checkpoint_apply(&c, net, store, &id, parts, err, err_len);
    checkpoint_free(&c);
    return rc;
}

const struct checkpoint_param *checkpoint_find_param(const struct checkpoint *c,
                                                     const char *name)
{
    for (int i = 0; i < c->n_params; i++)
        if (strcmp(c->params[i].name, name) == 0)
            return &c->params[i];
    return NULL;
}
