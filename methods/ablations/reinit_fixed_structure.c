/* RQ3 (a): is DSR's final structure alone enough? Trains the final mask of a
 * finished run (--from DIR) from a new random initialization, with the mask
 * fixed, as static sparse does; PAPER.md trains it on the long schedule. */
#include <stdio.h>

#include "fixed_structure.h"
#include "optim.h"

static int reinit_init(struct method_run *run)
{
    if (fixed_structure_load_mask(run) != 0)
        return -1;
    /* new weights from the method stream: independent of the weight stream
     * that drew the source run's init, even when both runs share a seed */
    net_init_params(run->net, &run->stream);
    net_apply_masks(run->net);
    return 0;
}

const struct method ablation_reinit_fixed_structure = {
    .name = "reinit-fixed-structure",
    .summary = "RQ3: the final mask of a finished run, fixed, from a new random init",
    .sparse = 1,
    .mask = MASK_ALL_ACTIVE,
    .from = FROM_REQUIRED,
    .from_help = "the run whose final.ckpt mask is trained (its sparsity is the default)",
    .init = reinit_init,
};
