#include "param_storage.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *must(void *ptr, const struct param *p)
{
    if (!ptr) {
        fprintf(stderr, "dsrbench: out of memory storing the active weights of %s\n", p->name);
        exit(1);
    }
    return ptr;
}

static void *floats(size_t n, const struct param *p)
{
    return must(malloc(sizeof(float) * (n ? n : 1)), p);
}

/* A buffer below the smallest normal float leaves the resting list and
 * reads +0 from then on. The dense path keeps such a buffer: rounding to
 * nearest stops m * buf at a few subnormals (0.9 * 4 * 2^-149 rounds back
 * to 4 * 2^-149), so its inactive positions never return to 0, and a list
 * keeping them would grow to every once-active position (twice a dense
 * momentum array). Flushed, it holds the positions deactivated in the last
 * few hundred steps (a buffer of 1e-2 falls below FLT_MIN after about 790
 * steps at m = 0.9). A regrown weight then differs from the dense path by
 * that subnormal buffer only (under 1.2e-38, times the learning rate). */
static int settled(float buf)
{
    return fabsf(buf) < FLT_MIN;
}

/* buf after n optimizer steps at an inactive position, as the dense path
 * computes them (d = grad + wd * value = 0 there), +0 once settled */
static float decayed(float buf, float m, unsigned long n)
{
    const float d = 0.0f;
    for (unsigned long i = 0; i < n && !settled(buf); i++)
        buf = m * buf + d;
    return settled(buf) ? 0.0f : buf;
}

/* applies the decay steps the resting list owes */
static void catch_up(struct param_compact *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_resting; i++) {
        const float buf = decayed(c->resting[i].value, c->resting_m, c->resting_steps);
        if (!settled(buf))
            c->resting[n++] = (struct pos_value){c->resting[i].pos, buf};
    }
    c->n_resting = n;
    c->resting_steps = 0;
}

static void push(struct pos_value **list, size_t *n, size_t *cap, int32_t pos, float value,
                 const struct param *p)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *list = must(realloc(*list, sizeof **list * *cap), p);
    }
    (*list)[(*n)++] = (struct pos_value){pos, value};
}

void param_storage_free(struct param *p)
{
    if (!p->compact)
        return;
    free(p->compact->pos);
    free(p->compact->pending);
    free(p->compact->resting);
    free(p->compact);
    p->compact = NULL;
}

/* p's value, grad and momentum become these (of the other storage) */
static void swap_arrays(struct param *p, float *value, float *grad, float *momentum)
{
    free(p->value);
    free(p->grad);
    free(p->momentum);
    p->value = value;
    p->grad = grad;
    p->momentum = momentum;
}

void param_to_compact(struct param *p)
{
    if (p->compact || !p->mask)
        return;
    struct param_compact *c = must(calloc(1, sizeof *c), p);
    size_t nnz = 0;
    for (size_t i = 0; i < p->count; i++)
        nnz += p->mask[i] != 0;
    float *value = floats(nnz, p), *grad = floats(nnz, p), *momentum = floats(nnz, p);
    c->pos = must(malloc(sizeof *c->pos * (nnz ? nnz : 1)), p);
    size_t k = 0;
    for (size_t i = 0; i < p->count; i++) {
        if (p->mask[i]) {
            c->pos[k] = (int32_t)i;
            value[k] = p->value[i];
            grad[k] = p->grad[i];
            momentum[k++] = p->momentum[i];
        } else if (!settled(p->momentum[i])) {
            push(&c->resting, &c->n_resting, &c->resting_cap, (int32_t)i, p->momentum[i], p);
        }
    }
    c->stored = nnz;
    c->version = p->mask_version;
    swap_arrays(p, value, grad, momentum);
    p->compact = c;
}

void param_to_dense(struct param *p)
{
    if (!p->compact)
        return;
    param_sync(p);
    float *value = must(calloc(p->count, sizeof(float)), p);
    float *grad = must(calloc(p->count, sizeof(float)), p);
    float *momentum = must(calloc(p->count, sizeof(float)), p);
    param_dense_values(p, value);
    param_dense_grads(p, grad);
    param_dense_momentum(p, momentum);
    swap_arrays(p, value, grad, momentum);
    param_storage_free(p);
}

static int32_t min_pos(int32_t a, int32_t b)
{
    return a < b ? a : b;
}

static int by_pos(const void *a, const void *b)
{
    const int32_t x = ((const struct pos_value *)a)->pos, y = ((const struct pos_value *)b)->pos;
    return (x > y) - (x < y);
}

/* One merge over three ascending lists: the stored entries S, the pending
 * activations P (sorted here) and the resting buffers R. S and R are
 * disjoint; P may meet S (deactivated and activated again since the sync:
 * the new value, the kept gradient and buffer) or R (regrown: the resting
 * buffer comes back). An active position keeps its stored gradient, else 0;
 * an inactive one's buffer goes to the new resting list unless settled. */
void param_sync(struct param *p)
{
    struct param_compact *c = p->compact;
    if (!c || (c->version == p->mask_version && c->n_pending == 0))
        return;
    catch_up(c);
    qsort(c->pending, c->n_pending, sizeof *c->pending, by_pos);
    const size_t cap = c->stored + c->n_pending;
    float *value = floats(cap, p), *grad = floats(cap, p), *momentum = floats(cap, p);
    int32_t *pos = must(malloc(sizeof *pos * (cap ? cap : 1)), p);
    struct pos_value *resting = NULL;
    size_t n_resting = 0, resting_cap = 0, n = 0;
    size_t s = 0, q = 0, r = 0;
    const int32_t end = INT32_MAX;
    for (;;) {
        const int32_t ps = s < c->stored ? c->pos[s] : end;
        const int32_t pp = q < c->n_pending ? c->pending[q].pos : end;
        const int32_t pr = r < c->n_resting ? c->resting[r].pos : end;
        const int32_t at = min_pos(ps, min_pos(pp, pr));
        if (at == end)
            break;
        const int in_s = ps == at, in_p = pp == at, in_r = pr == at;
        const float buf = in_s ? p->momentum[s] : in_r ? c->resting[r].value : 0.0f;
        if (p->mask[at]) {
            pos[n] = at;
            value[n] = in_p ? c->pending[q].value : in_s ? p->value[s] : 0.0f;
            grad[n] = in_s ? p->grad[s] : 0.0f;
            momentum[n++] = buf;
        } else if (!settled(buf)) {
            push(&resting, &n_resting, &resting_cap, at, buf, p);
        }
        s += (size_t)in_s;
        q += (size_t)in_p;
        r += (size_t)in_r;
    }
    swap_arrays(p, value, grad, momentum);
    free(c->pos);
    free(c->resting);
    c->pos = pos;
    c->stored = n;
    c->resting = resting;
    c->n_resting = n_resting;
    c->resting_cap = resting_cap;
    c->n_pending = 0;
    c->version = p->mask_version;
}

/* the stored entry of position pos, or -1 */
static ptrdiff_t stored_index(const struct param_compact *c, size_t pos)
{
    size_t lo = 0, hi = c->stored;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if ((size_t)c->pos[mid] < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->stored && (size_t)c->pos[lo] == pos ? (ptrdiff_t)lo : -1;
}

static ptrdiff_t pending_index(const struct param_compact *c, size_t pos)
{
    for (size_t i = c->n_pending; i-- > 0;)
        if ((size_t)c->pending[i].pos == pos)
            return (ptrdiff_t)i;
    return -1;
}

void param_activate(struct param *p, size_t pos, float value, int was_active)
{
    struct param_compact *c = p->compact;
    if (!c) {
        p->value[pos] = value;
        return;
    }
    if (was_active) {
        /* a new value for an active weight: where it lives now */
        const ptrdiff_t q = pending_index(c, pos);
        if (q >= 0) {
            c->pending[q].value = value;
            return;
        }
        const ptrdiff_t k = stored_index(c, pos);
        if (k >= 0) {
            p->value[k] = value;
            return;
        }
    }
    push(&c->pending, &c->n_pending, &c->pending_cap, (int32_t)pos, value, p);
}

void param_deactivate(struct param *p, size_t pos)
{
    struct param_compact *c = p->compact;
    if (!c) {
        p->value[pos] = 0.0f;
        return;
    }
    const ptrdiff_t q = pending_index(c, pos);
    if (q >= 0)
        c->pending[q] = c->pending[--c->n_pending];
}

void param_decay_resting(struct param *p, float momentum)
{
    struct param_compact *c = p->compact;
    if (!c || momentum == 0.0f || c->n_resting == 0)
        return;
    if (c->resting_steps > 0 && momentum != c->resting_m)
        catch_up(c);
    c->resting_m = momentum;
    c->resting_steps++;
}

/* out = arr at all count positions: a copy when DENSE; when COMPACT 0 but at
 * the stored entries (only the active ones with active_only) */
static void scatter(const struct param *p, const float *arr, int active_only, float *out)
{
    if (!p->compact) {
        memcpy(out, arr, sizeof(float) * p->count);
        return;
    }
    memset(out, 0, sizeof(float) * p->count);
    for (size_t k = 0; k < p->compact->stored; k++) {
        const int32_t pos = p->compact->pos[k];
        if (!active_only || p->mask[pos])
            out[pos] = arr[k];
    }
}

void param_dense_values(const struct param *p, float *out)
{
    scatter(p, p->value, 1, out);
    for (size_t i = 0; p->compact && i < p->compact->n_pending; i++)
        out[p->compact->pending[i].pos] = p->compact->pending[i].value;
}

/* a deactivated entry keeps its gradient until the next sync, as the dense
 * path keeps it until the next backward */
void param_dense_grads(const struct param *p, float *out)
{
    scatter(p, p->grad, 0, out);
}

/* a deactivated entry not yet synced still holds its buffer, undecayed (every
 * optimizer step syncs first), and a pending one will take the stored or
 * resting buffer of its position: so stored and resting are all there is */
void param_dense_momentum(const struct param *p, float *out)
{
    scatter(p, p->momentum, 0, out);
    const struct param_compact *c = p->compact;
    for (size_t i = 0; c && i < c->n_resting; i++)
        out[c->resting[i].pos] = decayed(c->resting[i].value, c->resting_m, c->resting_steps);
}
