#include "sparse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "param_storage.h"

int sparse_store_init(struct sparse_store *s, struct net *net)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < net->n_params; i++)
        s->count += net->params[i]->sparse_eligible;
    if (s->count == 0)
        return -1;
    s->tensors = calloc((size_t)s->count, sizeof *s->tensors);
    if (!s->tensors)
        return -1;
    int t = 0;
    for (int i = 0; i < net->n_params; i++) {
        struct param *p = net->params[i];
        if (!p->sparse_eligible)
            continue;
        if (!p->mask) {
            p->mask = malloc(p->count);
            if (!p->mask)
                return -1;
        }
        param_to_dense(p); /* the mask is written directly */
        memset(p->mask, 1, p->count);
        param_mask_changed(p);
        s->tensors[t++] = (struct sparse_tensor){.param = p, .active = p->count};
        s->positions += p->count;
    }
    return 0;
}

void sparse_store_free(struct sparse_store *s)
{
    free(s->tensors);
    memset(s, 0, sizeof *s);
}

size_t sparse_initial_active(size_t n, double sparsity)
{
    /* the reference code's int((1-s)*N + 0.1): the 0.1 absorbs float error */
    const size_t k = (size_t)((1.0 - sparsity) * (double)n + 0.1);
    return k > n ? n : k;
}

void sparse_store_random_masks(struct sparse_store *s, double sparsity, struct rng *mask_stream)
{
    for (int t = 0; t < s->count; t++) {
        struct param *p = s->tensors[t].param;
        const size_t keep = sparse_initial_active(p->count, sparsity);
        int32_t *order = malloc(sizeof *order * p->count);
        if (!order) {
            fprintf(stderr, "dsrbench: out of memory drawing the mask of %s\n", p->name);
            exit(1);
        }
        /* a partial Fisher-Yates shuffle: the first `keep` entries are a
         * uniform sample without replacement */
        for (size_t i = 0; i < p->count; i++)
            order[i] = (int32_t)i;
        for (size_t i = 0; i < keep; i++) {
            const size_t j = i + (size_t)rng_below(mask_stream, p->count - i);
            const int32_t tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        param_to_dense(p); /* the mask and values are written directly */
        memset(p->mask, 0, p->count);
        for (size_t i = 0; i < keep; i++)
            p->mask[order[i]] = 1;
        param_mask_changed(p);
        for (size_t i = 0; i < p->count; i++)
            if (!p->mask[i])
                p->value[i] = 0.0f;
        s->tensors[t].active = keep;
        free(order);
    }
}

size_t sparse_store_active(const struct sparse_store *s)
{
    size_t active = 0;
    for (int t = 0; t < s->count; t++)
        active += s->tensors[t].active;
    return active;
}

double sparse_store_sparsity(const struct sparse_store *s)
{
    return 1.0 - (double)sparse_store_active(s) / (double)s->positions;
}

void sparse_deactivate(struct sparse_tensor *t, size_t index)
{
    if (t->param->mask[index]) {
        t->param->mask[index] = 0;
        t->active--;
        param_mask_changed(t->param);
    }
    param_deactivate(t->param, index);
}

void sparse_activate(struct sparse_tensor *t, size_t index, float value)
{
    const int was_active = t->param->mask[index] != 0;
    if (!was_active) {
        t->param->mask[index] = 1;
        t->active++;
        param_mask_changed(t->param);
    }
    param_activate(t->param, index, value, was_active);
}

/* DENSE: every inactive position stores 0 */
static int check_dense(const struct param *p, char *err, size_t err_len)
{
    for (size_t i = 0; i < p->count; i++)
        if (!p->mask[i] && p->value[i] != 0.0f) {
            snprintf(err, err_len, "%s: inactive position %zu holds %g", p->name, i,
                     (double)p->value[i]);
            return -1;
        }
    return 0;
}

/* COMPACT after its sync: the stored entries are exactly the active
 * positions, ascending */
static int check_compact(const struct param *p, size_t active, char *err, size_t err_len)
{
    const struct param_compact *c = p->compact;
    for (size_t k = 0; k < c->stored; k++) {
        const int32_t pos = c->pos[k];
        if (pos < 0 || (size_t)pos >= p->count || (k > 0 && pos <= c->pos[k - 1]) ||
            !p->mask[pos]) {
            snprintf(err, err_len,
                     "%s: stored entry %zu is position %d: not an active position in "
                     "ascending order",
                     p->name, k, (int)pos);
            return -1;
        }
    }
    if (c->stored != active) {
        snprintf(err, err_len, "%s: %zu entries stored for %zu active positions", p->name,
                 c->stored, active);
        return -1;
    }
    return 0;
}

int sparse_store_check(const struct sparse_store *s, char *err, size_t err_len)
{
    for (int t = 0; t < s->count; t++) {
        struct param *p = s->tensors[t].param;
        param_sync(p);
        size_t active = 0;
        for (size_t i = 0; i < p->count; i++)
            active += p->mask[i] != 0;
        if ((p->compact ? check_compact(p, active, err, err_len) : check_dense(p, err, err_len)) !=
            0)
            return -1;
        if (active != s->tensors[t].active) {
            snprintf(err, err_len, "%s: mask has %zu active positions, the count says %zu",
                     p->name, active, s->tensors[t].active);
            return -1;
        }
    }
    return 0;
}
