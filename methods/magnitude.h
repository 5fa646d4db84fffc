/* Which weights are smallest: the k active entries of a tensor with the
 * smallest |w|, ties broken by the lower index so a run is reproducible. A
 * "which weights" score kept apart from the "when and how many" schedules of
 * the methods that prune by magnitude (compressed, SET). */
#ifndef DSRBENCH_MAGNITUDE_H
#define DSRBENCH_MAGNITUDE_H
#include <stddef.h>
#include <stdint.h>

#include "sparse.h"

/* Writes the indices of the k smallest-|w| active entries of t to out (any
 * order) and returns how many it wrote: min(k, t->active). scratch holds at
 * least t->active entries; nothing is deactivated. Expected time linear in
 * the tensor's size (quickselect). */
size_t magnitude_smallest(const struct sparse_tensor *t, size_t k, int32_t *scratch,
                          int32_t *out);

#endif
