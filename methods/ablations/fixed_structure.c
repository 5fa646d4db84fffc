#include "fixed_structure.h"

#include <stdio.h>

#include "checkpoint.h"

int fixed_structure_load_mask(struct method_run *run)
{
    const char *name = run->method->name;
    char path[4200], err[1200];
    snprintf(path, sizeof path, "%s/final.ckpt", run->source->dir);
    if (checkpoint_load_into(path, run->net, &run->store, run->model_name, CHECKPOINT_MASKS, err,
                             sizeof err) != 0) {
        fprintf(stderr, "dsrbench: %s: the structure to retrain: %s\n", name, err);
        return -1;
    }
    size_t budget = 0;
    for (int t = 0; t < run->store.count; t++)
        budget += sparse_initial_active(run->store.tensors[t].param->count, run->sparsity);
    const size_t active = sparse_store_active(&run->store);
    if (active != budget) {
        fprintf(stderr,
                "dsrbench: %s: %s holds %zu active weights, but sparsity %g means %zu; give "
                "the source run's --sparsity (%g) or none\n",
                name, path, active, run->sparsity, budget, run->source->sparsity);
        return -1;
    }
    return 0;
}
