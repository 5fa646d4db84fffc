/* RQ3 (b): DSR's final structure with DSR's own initial weights (the source
 * run's init, every position of it, as its seed drew them), the mask fixed. */
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "fixed_structure.h"

/* The source's init is redrawn from its seed (initial.ckpt only keeps the
 * values its initial mask left active); the redraw must agree with every
 * value initial.ckpt kept, or the weights are not the source's. */
static int redraw_source_init(struct method_run *run)
{
    struct rng weights = rng_stream(run->source->seed, RNG_WEIGHT_INIT);
    net_init_params(run->net, &weights);
    char path[4200], err[1200];
    snprintf(path, sizeof path, "%s/initial.ckpt", run->source->dir);
    struct checkpoint c;
    if (checkpoint_read(path, &c, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench: %s: the source run's initial weights: %s\n",
                run->method->name, err);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < run->net->n_params && rc == 0; i++) {
        const struct param *p = run->net->params[i];
        const struct checkpoint_param *saved = checkpoint_find_param(&c, p->name);
        if (!saved || saved->count != p->count) {
            fprintf(stderr, "dsrbench: %s: %s has no parameter %s of %zu values\n",
                    run->method->name, path, p->name, p->count);
            rc = -1;
            break;
        }
        for (size_t j = 0; j < p->count; j++) {
            float v;
            memcpy(&v, saved->value + j * sizeof v, sizeof v);
            if ((!saved->mask || saved->mask[j]) && v != p->value[j]) {
                fprintf(stderr,
                        "dsrbench: %s: %s[%zu] is %g in %s, but seed %llu draws %g: the "
                        "source was initialized differently (another dsrbench version?)\n",
                        run->method->name, p->name, j, (double)v, path,
                        (unsigned long long)run->source->seed, (double)p->value[j]);
                rc = -1;
                break;
            }
        }
    }
    checkpoint_free(&c);
    return rc;
}

static int original_init(struct method_run *run)
{
    if (redraw_source_init(run) != 0)
        return -1;
    return fixed_structure_load_mask(run);
}

const struct method ablation_original_init_fixed_structure = {
    .name = "original-init-fixed-structure",
    .summary = "RQ3: the final mask of a finished run, fixed, from that run's initial weights",
    .sparse = 1,
    .mask = MASK_ALL_ACTIVE,
    .from = FROM_REQUIRED,
    .from_help = "the run whose final.ckpt mask and initial weights are trained",
    .init = original_init,
};
