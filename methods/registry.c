/* Every method by name. A new method: its file plus one line here. */
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

const struct method *method_find(const char *name)
{
    for (int i = 0; method_registry[i]; i++)
        if (strcmp(method_registry[i]->name, name) == 0)
            return method_registry[i];
    return NULL;
}

struct train_hooks method_hooks(struct method_run *run)
{
    const struct method *m = run->method;
    return (struct train_hooks){.ctx = run, .before_forward = m->before_forward,
                                .after_backward = m->after_backward,
                                .after_step = m->after_step, .end_epoch = m->end_epoch};
}
