/* dsrbench methods: every method and ablation with its summary and options. */
#include <stdio.h>

#include "commands.h"
#include "method.h"

static void print_registry(const char *title, const struct method *const *registry)
{
    printf("%s\n", title);
    for (int i = 0; registry[i]; i++) {
        const struct method *m = registry[i];
        printf("  %s%s\n      %s\n", m->name, m->sparse ? " [--sparsity]" : "", m->summary);
        if (m->from != FROM_NONE)
            printf("      --from RUN_DIR%s: %s\n", m->from == FROM_OPTIONAL ? " (optional)" : "",
                   m->from_help);
        for (int j = 0; j < m->n_options; j++) {
            const struct method_option *opt = &m->options[j];
            printf("      %s = %g: %s\n", opt->name, opt->default_value, opt->help);
        }
    }
}

int cmd_methods(int argc, char **argv)
{
    (void)argv;
    if (argc > 2) {
        fprintf(stderr, "dsrbench methods: takes no arguments\n");
        return 2;
    }
    print_registry("Methods (dsrbench train --method NAME):", method_registry);
    print_registry("\nAblations for RQ3 (dsrbench train --ablation NAME):", ablation_registry);
    return 0;
}
