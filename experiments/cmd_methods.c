/* dsrbench methods: every method with its summary and options. */
#include <stdio.h>

#include "commands.h"
#include "method.h"

int cmd_methods(int argc, char **argv)
{
    (void)argv;
    if (argc > 2) {
        fprintf(stderr, "dsrbench methods: takes no arguments\n");
        return 2;
    }
    printf("Methods (dsrbench train --method NAME):\n");
    for (int i = 0; method_registry[i]; i++) {
        const struct method *m = method_registry[i];
        printf("  %-12s %s%s\n", m->name, m->summary, m->sparse ? " [--sparsity]" : "");
        for (int j = 0; j < m->n_options; j++) {
            const struct method_option *opt = &m->options[j];
            printf("  %12s   %s = %g: %s\n", "", opt->name, opt->default_value, opt->help);
        }
    }
    return 0;
}
