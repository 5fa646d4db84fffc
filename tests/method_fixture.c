#include "method_fixture.h"

#include "method_setup.h"

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

int method_fixture_try(struct method_fixture *f, const struct method *m, struct method_setup s)
{
    struct model_spec spec;
    char err[256];
    cr_assert_eq(model_parse(s.model ? s.model : "lenet-300-100", &spec, err, sizeof err), 0,
                 "%s", err);
    int n_options = 0;
    while (s.options && s.options[n_options])
        n_options++;
    const struct method_setup_config cfg = {
        .method = m, .sparsity = m->sparse ? s.sparsity : -1, .options = s.options,
        .n_options = n_options, .seed = s.seed, .in_c = s.c ? s.c : 1, .in_h = s.h ? s.h : 28,
        .in_w = s.w ? s.w : 28, .classes = 10, .epochs = s.epochs ? s.epochs : 1000,
        .command = "method_fixture"};
    const int rc = method_run_setup(&f->run, &spec, &cfg);
    f->net = f->run.net;
    return rc == 0 ? 0 : -1;
}

void method_fixture_setup(struct method_fixture *f, const struct method *m, struct method_setup s)
{
    cr_assert_eq(method_fixture_try(f, m, s), 0, "setting up %s failed", m->name);
}

void method_fixture_free(struct method_fixture *f)
{
    method_run_teardown(&f->run);
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

void method_fixture_expect_paper_schedule(struct method_fixture *f)
{
    static const struct {
        long iteration;
        int epoch;
        double expect;
    } cases[] = {
        {0, 0, 0},      {50, 0, 0},     {100, 0, 1},    {300, 24, 1},   {300, 25, 0},
        {400, 25, 1},   {1000, 80, 0},  {1200, 80, 1},  {2000, 140, 0}, {2400, 140, 1},
        {8000, 189, 1}, {8000, 190, 0}, {9600, 200, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        method_fixture_hook(f, f->run.method->after_step, cases[i].epoch, cases[i].iteration);
        cr_expect_eq(method_fixture_stat(f, "reallocations"), cases[i].expect,
                     "%s: iteration %ld, epoch %d", f->run.method->name, cases[i].iteration,
                     cases[i].epoch);
    }
}

void method_fixture_stats(struct method_fixture *f, const char *const *names, double *values,
                          int n)
{
    struct method_stat out[8];
    const int got = f->run.method->stats(&f->run, out, 8);
    cr_assert_eq(got, n, "method %s reports %d stats columns, expected %d", f->run.method->name,
                 got, n);
    for (int k = 0; k < n; k++) {
        int i = 0;
        while (i < got && strcmp(out[i].name, names[k]) != 0)
            i++;
        cr_assert_lt(i, got, "method %s has no stats column %s", f->run.method->name, names[k]);
        values[k] = out[i].value;
    }
}

void method_fixture_randomize_active(struct method_fixture *f, struct rng *r, float scale)
{
    for (int l = 0; l < f->run.store.count; l++) {
        const struct param *p = f->run.store.tensors[l].param;
        for (size_t i = 0; i < p->count; i++)
            if (p->mask[i])
                p->value[i] = scale * rng_normal(r);
    }
}

void method_fixture_expect_consistent(struct method_fixture *f)
{
    char err[256];
    cr_expect_eq(sparse_store_check(&f->run.store, err, sizeof err), 0, "%s", err);
}

uint8_t *method_fixture_mask_after_reallocations(const struct method *m,
                                                 const char *const *options,
                                                 uint64_t method_seed)
{
    struct method_fixture f;
    method_fixture_setup(&f, m, (struct method_setup){.sparsity = 0.9, .seed = 8,
                                                      .options = options});
    f.run.stream = rng_stream(method_seed, RNG_METHOD);
    struct rng r = rng_stream(13, RNG_WEIGHT_INIT);
    for (int k = 1; k <= 5; k++) {
        method_fixture_randomize_active(&f, &r, 0.05f);
        method_fixture_hook(&f, m->after_step, 0, 100L * k);
    }
    const struct param *fc1 = f.run.store.tensors[0].param;
    uint8_t *mask = malloc(fc1->count);
    cr_assert_not_null(mask);
    memcpy(mask, fc1->mask, fc1->count);
    method_fixture_free(&f);
    return mask;
}

void method_fixture_expect_stream_decides_masks(uint8_t *(*mask_after)(uint64_t method_seed),
                                                size_t size)
{
    uint8_t *a = mask_after(1), *b = mask_after(1), *c = mask_after(2);
    cr_expect_eq(memcmp(a, b, size), 0, "the same stream grew different masks");
    cr_expect_neq(memcmp(a, c, size), 0, "another stream grew the same mask");
    free(a);
    free(b);
    free(c);
}
