#include "method_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int method_option_index(const struct method *m, const char *name)
{
    for (int i = 0; i < m->n_options; i++)
        if (strcmp(m->options[i].name, name) == 0)
            return i;
    cr_assert_fail("method %s has no option %s", m->name, name);
    return -1;
}

static void apply_options(struct method_run *run, const char *const *options)
{
    for (int i = 0; options && options[i]; i++) {
        const char *eq = strchr(options[i], '=');
        cr_assert_not_null(eq, "option '%s' is not name=value", options[i]);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(eq - options[i]), options[i]);
        run->option[method_option_index(run->method, name)] = strtod(eq + 1, NULL);
    }
}

int method_fixture_try(struct method_fixture *f, const struct method *m, struct method_setup s)
{
    struct model_spec spec;
    char err[256];
    const char *model = s.model ? s.model : "lenet-300-100";
    const int c = s.c ? s.c : 1, h = s.h ? s.h : 28, w = s.w ? s.w : 28;
    cr_assert_eq(model_parse(model, &spec, err, sizeof err), 0, "%s", err);
    *f = (struct method_fixture){
        .run = {.method = m, .sparsity = s.sparsity, .stream = rng_stream(s.seed, RNG_METHOD),
                .in_c = c, .in_h = h, .in_w = w, .classes = 10,
                .epochs = s.epochs ? s.epochs : 1000}};
    for (int i = 0; i < m->n_options; i++)
        f->run.option[i] = m->options[i].default_value;
    apply_options(&f->run, s.options);
    if (m->configure) {
        const int rc = m->configure(&f->run, &spec);
        if (rc != 0)
            return rc;
    }
    f->net = model_build(&spec, c, h, w, 10);
    cr_assert_not_null(f->net);
    f->run.net = f->net;
    struct rng weights = rng_stream(s.seed, RNG_WEIGHT_INIT);
    net_init_params(f->net, &weights);
    if (m->sparse && m->mask != MASK_NONE) {
        cr_assert_eq(sparse_store_init(&f->run.store, f->net), 0);
        struct rng masks = rng_stream(s.seed, RNG_MASK_INIT);
        if (m->mask == MASK_RANDOM)
            sparse_store_random_masks(&f->run.store, s.sparsity, &masks);
    }
    return m->init ? m->init(&f->run) : 0;
}

void method_fixture_setup(struct method_fixture *f, const struct method *m, struct method_setup s)
{
    cr_assert_eq(method_fixture_try(f, m, s), 0, "setting up %s failed", m->name);
}

void method_fixture_free(struct method_fixture *f)
{
    if (f->run.method && f->run.method->free_state)
        f->run.method->free_state(&f->run);
    sparse_store_free(&f->run.store);
    net_free(f->net);
    f->net = NULL;
}

void method_fixture_hook(struct method_fixture *f,
                         void (*hook)(void *, struct net *, const struct train_position *),
                         int epoch, long iteration)
{
    cr_assert_not_null(hook);
    const struct train_position pos = {.epoch = epoch, .iteration = iteration};
    hook(&f->run, f->net, &pos);
}

double method_fixture_stat(struct method_fixture *f, const char *name)
{
    struct method_stat out[8];
    const int n = f->run.method->stats(&f->run, out, 8);
    for (int i = 0; i < n; i++)
        if (strcmp(out[i].name, name) == 0)
            return out[i].value;
    cr_assert_fail("method %s has no stats column %s", f->run.method->name, name);
    return 0;
}
