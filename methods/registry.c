/* Every method and ablation by name. A new method: its file plus one line here. */
#include <string.h>

#include "method.h"

extern const struct method method_dense, method_static;
extern const struct method method_dsr, method_set, method_deepr, method_compressed;
extern const struct method method_hashednet, method_thin_dense;

const struct method *const method_registry[] = {
    &method_dense,
    &method_static,
    &method_dsr,
    &method_set,
    &method_deepr,
    &method_compressed,
    &method_hashednet,
    &method_thin_dense,
    NULL,
};

extern const struct method ablation_reinit_fixed_structure,
    ablation_original_init_fixed_structure, ablation_frozen_after_n_epochs;

const struct method *const ablation_registry[] = {
    &ablation_reinit_fixed_structure,
    &ablation_original_init_fixed_structure,
    &ablation_frozen_after_n_epochs,
    NULL,
};

static const struct method *find_in(const struct method *const *registry, const char *name)
{
    for (int i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

const struct method *method_find(const char *name)
{
    const struct method *m = find_in(method_registry, name);
    return m ? m : find_in(ablation_registry, name);
}

const struct method *ablation_find(const char *name)
{
    return find_in(ablation_registry, name);
}

struct train_hooks method_hooks(struct method_run *run)
{
    const struct method *m = run->method;
    return (struct train_hooks){.ctx = run, .before_forward = m->before_forward,
                                .after_backward = m->after_backward,
                                .after_step = m->after_step, .end_epoch = m->end_epoch};
}
