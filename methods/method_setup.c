#include "method_setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int method_option_set(struct method_run *run, const char *text, const char *command)
{
    const struct method *m = run->method;
    const char *eq = strchr(text, '=');
    const size_t len = eq ? (size_t)(eq - text) : strlen(text);
    for (int i = 0; i < m->n_options; i++) {
        const struct method_option *opt = &m->options[i];
        if (strlen(opt->name) != len || strncmp(opt->name, text, len) != 0)
            continue;
        char *end;
        const double v = eq ? strtod(eq + 1, &end) : 0.0;
        if (!eq || end == eq + 1 || *end || !(v >= opt->min && v <= opt->max)) {
            fprintf(stderr,
                    "%s: --method-option '%s': expected %s=VALUE with VALUE from %g to %g\n",
                    command, text, opt->name, opt->min, opt->max);
            return -1;
        }
        run->option[i] = v;
        return 0;
    }
    fprintf(stderr, "%s: --method-option '%s': method %s has no option '%.*s'%s\n", command,
            text, m->name, (int)len, text,
            m->n_options ? " (dsrbench methods lists its options)" : " (it takes none)");
    return -1;
}

size_t method_run_learnable(const struct method_run *run)
{
    if (run->method->learnable_params)
        return run->method->learnable_params(run);
    return net_param_count(run->net) - run->store.positions + sparse_store_active(&run->store);
}

/* the refusals train_run makes before it loads data */
static int check_sparsity(const struct method_setup_config *cfg)
{
    if (!cfg->method->sparse && cfg->sparsity >= 0) {
        fprintf(stderr, "%s: --method %s is dense and takes no --sparsity\n", cfg->command,
                cfg->method->name);
        return -1;
    }
    if (cfg->sparsity >= 1.0) {
        fprintf(stderr, "%s: --sparsity %g: expected a fraction in [0, 1)\n", cfg->command,
                cfg->sparsity);
        return -1;
    }
    return 0;
}

/* --width-factor: thin-dense's width as a flag of its own */
static int set_width_factor(struct method_run *run, double factor, const char *command)
{
    const struct method *m = run->method;
    for (int i = 0; i < m->n_options; i++) {
        if (strcmp(m->options[i].name, "width_factor") == 0) {
            run->option[i] = factor;
            return 0;
        }
    }
    fprintf(stderr, "%s: --width-factor %g: method %s has no width to set (it applies to "
                    "thin-dense)\n",
            command, factor, m->name);
    return -1;
}

int method_run_setup(struct method_run *run, struct model_spec *spec,
                     const struct method_setup_config *cfg)
{
    const struct method *m = cfg->method;
    *run = (struct method_run){
        .method = m,
        .sparsity = m->sparse ? (cfg->sparsity >= 0 ? cfg->sparsity : 0.9) : 0.0,
        .stream = rng_stream(cfg->seed, RNG_METHOD),
        .in_c = cfg->in_c, .in_h = cfg->in_h, .in_w = cfg->in_w, .classes = cfg->classes,
        .epochs = cfg->epochs, .source = cfg->source, .model_name = cfg->model_name};
    if (check_sparsity(cfg) != 0)
        return 2;
    for (int i = 0; i < m->n_options; i++)
        run->option[i] = m->options[i].default_value;
    for (int i = 0; i < cfg->n_options; i++)
        if (method_option_set(run, cfg->options[i], cfg->command) != 0)
            return 2;
    if (cfg->width_factor > 0 && set_width_factor(run, cfg->width_factor, cfg->command) != 0)
        return 2;
    /* configure refuses options (the message is on stderr): a usage error */
    if (m->configure && m->configure(run, spec) != 0)
        return 2;
    run->net = model_build(spec, cfg->in_c, cfg->in_h, cfg->in_w, cfg->classes);
    if (!run->net)
        return 1;
    if (cfg->model_name)
        model_name(spec, cfg->model_name, 64);
    struct rng weight_stream = rng_stream(cfg->seed, RNG_WEIGHT_INIT);
    net_init_params(run->net, &weight_stream);
    if (m->sparse && m->mask != MASK_NONE) {
        if (sparse_store_init(&run->store, run->net) != 0) {
            char name[64];
            model_name(spec, name, sizeof name);
            fprintf(stderr, "%s: %s has no sparse-eligible tensors\n", cfg->command, name);
            return 1;
        }
        struct rng mask_stream = rng_stream(cfg->seed, RNG_MASK_INIT);
        if (m->mask == MASK_RANDOM)
            sparse_store_random_masks(&run->store, run->sparsity, &mask_stream);
    }
    if (m->init && m->init(run) != 0)
        return 1;
    return 0;
}

void method_run_teardown(struct method_run *run)
{
    if (run->method && run->method->free_state)
        run->method->free_state(run);
    sparse_store_free(&run->store);
    net_free(run->net);
    run->net = NULL;
}
