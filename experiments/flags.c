#include "flags.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const struct flag *flag_find(const struct flag *flags, int n_flags, const char *name)
{
    for (int i = 0; i < n_flags; i++)
        if (strcmp(flags[i].name, name) == 0)
            return &flags[i];
    return NULL;
}

static int out_of_range(const char *command, const struct flag *f, const char *value,
                        const char *kind)
{
    fprintf(stderr, "%s: --%s '%s': expected %s from %g to %g\n", command, f->name, value, kind,
            f->min, f->max);
    return -1;
}

static int set_value(const char *command, struct flag *f, const char *value)
{
    char *end;
    errno = 0;
    switch (f->type) {
    case FLAG_INT: {
        const long v = strtol(value, &end, 10);
        if (end == value || *end || errno || v < f->min || v > f->max)
            return out_of_range(command, f, value, "a whole number");
        *(int *)f->target = (int)v;
        return 0;
    }
    case FLAG_SEED: {
        if (value[0] == '-')
            return out_of_range(command, f, value, "a whole number");
        const unsigned long long v = strtoull(value, &end, 10);
        if (end == value || *end || errno)
            return out_of_range(command, f, value, "a whole number");
        *(uint64_t *)f->target = (uint64_t)v;
        return 0;
    }
    case FLAG_DOUBLE: {
        const double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v) || v < f->min || v > f->max)
            return out_of_range(command, f, value, "a number");
        *(double *)f->target = v;
        return 0;
    }
    case FLAG_STRING:
        if (!*value) {
            fprintf(stderr, "%s: --%s needs a non-empty value\n", command, f->name);
            return -1;
        }
        *(const char **)f->target = value;
        return 0;
    case FLAG_STRING_LIST: {
        struct flag_list *list = f->target;
        if (list->count == FLAG_LIST_MAX) {
            fprintf(stderr, "%s: --%s is given more than %d times\n", command, f->name,
                    FLAG_LIST_MAX);
            return -1;
        }
        list->items[list->count++] = value;
        return 0;
    }
    case FLAG_BOOL: break;
    }
    return -1;
}

int flags_parse(struct flag *flags, int n_flags, int argc, char **argv, int first,
                const char *command, const char *usage_head)
{
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            flags_usage(stdout, flags, n_flags, usage_head);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument '%s' (flags start with --; see --help)\n",
                    command, arg);
            return -1;
        }
        char name[64];
        const char *eq = strchr(arg + 2, '=');
        const size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1),
                 arg + 2);
        int negated = 0;
        struct flag *f = (struct flag *)flag_find(flags, n_flags, name);
        if (!f && strncmp(name, "no-", 3) == 0) {
            f = (struct flag *)flag_find(flags, n_flags, name + 3);
            negated = f && f->type == FLAG_BOOL;
            if (!negated)
                f = NULL;
        }
        if (!f) {
            fprintf(stderr, "%s: unknown flag '--%s' (see %s --help)\n", command, name, command);
            return -1;
        }
        if (f->seen && f->type != FLAG_STRING_LIST) {
            fprintf(stderr, "%s: --%s is given twice\n", command, f->name);
            return -1;
        }
        f->seen = 1;
        if (f->type == FLAG_BOOL) {
            if (eq) {
                fprintf(stderr, "%s: --%s takes no value (use --%s or --no-%s)\n", command,
                        f->name, f->name, f->name);
                return -1;
            }
            *(int *)f->target = !negated;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            fprintf(stderr, "%s: --%s needs a value (%s)\n", command, f->name, f->arg);
            return -1;
        }
        if (set_value(command, f, value) != 0)
            return -1;
    }
    return 0;
}

void flags_usage(FILE *out, const struct flag *flags, int n_flags, const char *usage_head)
{
    fputs(usage_head, out);
    fputs("\nOptions:\n", out);
    for (int i = 0; i < n_flags; i++) {
        char left[48];
        if (flags[i].type == FLAG_BOOL)
            snprintf(left, sizeof left, "--[no-]%s", flags[i].name);
        else
            snprintf(left, sizeof left, "--%s %s", flags[i].name, flags[i].arg);
        fprintf(out, "  %-26s %s\n", left, flags[i].help);
    }
    fputs("  --help                     this text\n", out);
}
