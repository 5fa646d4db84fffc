#include "magnitude.h"

#include <math.h>
#include <string.h>

/* |w| then index: a strict total order, so the selection is unique */
static int smaller(const float *w, int32_t a, int32_t b)
{
    const float ma = fabsf(w[a]), mb = fabsf(w[b]);
    return ma < mb || (ma == mb && a < b);
}

static void swap(int32_t *x, size_t i, size_t j)
{
    const int32_t t = x[i];
    x[i] = x[j];
    x[j] = t;
}

/* Hoare-style quickselect with the median of three as pivot: afterwards the
 * first k entries of idx[0..n) are the k smallest, in some order. */
static void select_smallest(const float *w, int32_t *idx, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* the k-th smallest lies in [lo, hi) */
    while (hi - lo > 1) {
        const size_t mid = lo + (hi - lo) / 2;
        if (smaller(w, idx[mid], idx[lo]))
            swap(idx, mid, lo);
        if (smaller(w, idx[hi - 1], idx[lo]))
            swap(idx, hi - 1, lo);
        if (smaller(w, idx[hi - 1], idx[mid]))
            swap(idx, hi - 1, mid);
        const int32_t pivot = idx[mid];
        /* three-way partition: [lo, lt) < pivot, [lt, gt) == pivot, [gt, hi) > pivot */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (smaller(w, idx[i], pivot))
                swap(idx, lt++, i++);
            else if (smaller(w, pivot, idx[i]))
                swap(idx, i, --gt);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return;
    }
}

size_t magnitude_smallest(const struct sparse_tensor *t, size_t k, int32_t *scratch,
                          int32_t *out)
{
    const struct param *p = t->param;
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++)
        if (!p->mask || p->mask[i])
            scratch[n++] = (int32_t)i;
    if (k > n)
        k = n;
    if (k > 0 && k < n)
        select_smallest(p->value, scratch, n, k);
    memcpy(out, scratch, k * sizeof *out);
    return k;
}
