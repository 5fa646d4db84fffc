/* What the two fixed-structure ablations (RQ3 a, b) share: the final mask of
 * the source run (--from DIR, its final.ckpt) on a fresh net, checked
 * against the run's budget. The weights are each ablation's own business. */
#ifndef DSRBENCH_FIXED_STRUCTURE_H
#define DSRBENCH_FIXED_STRUCTURE_H

#include "method.h"

/* Copies the masks of <source>/final.ckpt into the run's store (values where
 * a mask is off become 0) and checks that they hold exactly the budget of the
 * run's sparsity. 0, or -1 with a message naming the ablation on stderr. */
int fixed_structure_load_mask(struct method_run *run);

#endif
