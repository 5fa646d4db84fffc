#include "flags.h"

#include <errno.h>
#include <limits.h>
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

/* in_range 0: a saved value, which may be a default outside the range a user may give */
static int set_value(const char *command, struct flag *f, const char *value, int in_range)
{
    char *end;
    errno = 0;
    switch (f->type) {
    case FLAG_INT: {
        const long v = strtol(value, &end, 10);
        if (end == value || *end || errno || (in_range && (v < f->min || v > f->max)) ||
            v < INT_MIN || v > INT_MAX)
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
        if (end == value || *end || errno || !isfinite(v) || (in_range && (v < f->min || v > f->max)))
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
        if (set_value(command, f, value, 1) != 0)
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

static int skipped(const char *name, const char *const *skip)
{
    for (int i = 0; skip && skip[i]; i++)
        if (strcmp(skip[i], name) == 0)
            return 1;
    return 0;
}

/* appends "name = value\n"; the buffer grows as needed */
static int append_line(char **buf, size_t *len, size_t *cap, const char *name,
                       const char *value)
{
    const size_t need = strlen(name) + strlen(value) + 5;
    if (*len + need > *cap) {
        const size_t cap2 = 2 * (*len + need);
        char *grown = realloc(*buf, cap2);
        if (!grown)
            return -1;
        *buf = grown;
        *cap = cap2;
    }
    *len += (size_t)snprintf(*buf + *len, *cap - *len, "%s = %s\n", name, value);
    return 0;
}

/* the lines flags_save writes for one flag */
static char *flag_lines(const struct flag *f)
{
    char *buf = calloc(1, 1), number[64];
    size_t len = 0, cap = 1;
    int rc = 0;
    if (!buf)
        return NULL;
    switch (f->type) {
    case FLAG_INT: snprintf(number, sizeof number, "%d", *(const int *)f->target); break;
    case FLAG_BOOL: snprintf(number, sizeof number, "%d", *(const int *)f->target != 0); break;
    case FLAG_SEED:
        snprintf(number, sizeof number, "%llu",
                 (unsigned long long)*(const uint64_t *)f->target);
        break;
    case FLAG_DOUBLE: snprintf(number, sizeof number, "%.17g", *(const double *)f->target); break;
    case FLAG_STRING: {
        const char *v = *(const char *const *)f->target;
        if (v)
            rc = append_line(&buf, &len, &cap, f->name, v);
        break;
    }
    case FLAG_STRING_LIST: {
        const struct flag_list *list = f->target;
        for (int i = 0; i < list->count && rc == 0; i++)
            rc = append_line(&buf, &len, &cap, f->name, list->items[i]);
        break;
    }
    }
    if (f->type != FLAG_STRING && f->type != FLAG_STRING_LIST)
        rc = append_line(&buf, &len, &cap, f->name, number);
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *flags_save(const struct flag *flags, int n_flags, const char *const *skip,
                 const char *command)
{
    char *text = calloc(1, 1);
    size_t len = 0;
    for (int i = 0; i < n_flags && text; i++) {
        if (skipped(flags[i].name, skip))
            continue;
        char *lines = flag_lines(&flags[i]);
        char *grown = lines ? realloc(text, len + strlen(lines) + 1) : NULL;
        if (!grown) {
            free(lines);
            free(text);
            fprintf(stderr, "%s: out of memory\n", command);
            return NULL;
        }
        text = grown;
        /* a value is one line: name, " = ", value, newline */
        size_t newlines = 0;
        for (const char *c = lines; *c; c++)
            newlines += *c == '\n';
        size_t values = flags[i].type == FLAG_STRING_LIST
                            ? (size_t)((const struct flag_list *)flags[i].target)->count
                            : (flags[i].type != FLAG_STRING ||
                               *(const char *const *)flags[i].target);
        if (newlines != values) {
            fprintf(stderr, "%s: --%s: a value with a line break cannot be saved\n", command,
                    flags[i].name);
            free(lines);
            free(text);
            return NULL;
        }
        memcpy(text + len, lines, strlen(lines) + 1);
        len += strlen(lines);
        free(lines);
    }
    if (!text)
        fprintf(stderr, "%s: out of memory\n", command);
    return text;
}

/* the saved lines of one flag, in order, as flag_lines writes them */
static char *saved_lines(const char *text, const char *name)
{
    char *out = calloc(1, strlen(text) + 1);
    if (!out)
        return NULL;
    const size_t name_len = strlen(name);
    size_t len = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        const size_t line_len = end ? (size_t)(end - line) + 1 : strlen(line);
        if (strncmp(line, name, name_len) == 0 && strncmp(line + name_len, " = ", 3) == 0) {
            memcpy(out + len, line, line_len);
            len += line_len;
        }
        line += line_len;
    }
    out[len] = '\0';
    return out;
}

/* sets f from a saved value */
static int restore_value(struct flag *f, const char *value, const char *command)
{
    if (f->type != FLAG_BOOL)
        return set_value(command, f, value, 0);
    if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0) {
        fprintf(stderr, "%s: saved --%s '%s': expected 0 or 1\n", command, f->name, value);
        return -1;
    }
    *(int *)f->target = value[0] == '1';
    return 0;
}

/* "name = a\nname = b\n" to "a; b", in place, for messages */
static void values_only(char *lines, size_t name_len)
{
    char *out = lines;
    for (char *line = lines; *line;) {
        char *end = strchr(line, '\n');
        const size_t len = (end ? (size_t)(end - line) : strlen(line)) - (name_len + 3);
        if (out != lines) {
            memcpy(out, "; ", 2);
            out += 2;
        }
        memmove(out, line + name_len + 3, len);
        out += len;
        line = end ? end + 1 : line + strlen(line);
    }
    *out = '\0';
}

/* a flag given on this command line against its saved lines */
static int check_given(const struct flag *f, const char *text, const char *command,
                       const char *source)
{
    char *saved = saved_lines(text, f->name), *given = flag_lines(f);
    int rc = 0;
    if (!saved || !given) {
        fprintf(stderr, "%s: out of memory\n", command);
        rc = -1;
    } else if (strcmp(saved, given) != 0) {
        values_only(saved, strlen(f->name));
        values_only(given, strlen(f->name));
        if (saved[0])
            fprintf(stderr,
                    "%s: --%s: this command gives '%s', the run in %s was started with '%s' "
                    "(leave the flag out to continue with the run's own value)\n",
                    command, f->name, given, source, saved);
        else
            fprintf(stderr,
                    "%s: --%s: this command gives '%s', the run in %s was started without it\n",
                    command, f->name, given, source);
        rc = -1;
    }
    free(saved);
    free(given);
    return rc;
}

int flags_restore(struct flag *flags, int n_flags, const char *const *skip, char *text,
                  const char *command, const char *source)
{
    for (int i = 0; i < n_flags; i++)
        if (flags[i].seen && !skipped(flags[i].name, skip) &&
            check_given(&flags[i], text, command, source) != 0)
            return -1;
    /* a saved list replaces the default list, item by item */
    for (int i = 0; i < n_flags; i++)
        if (flags[i].type == FLAG_STRING_LIST && !flags[i].seen && !skipped(flags[i].name, skip))
            ((struct flag_list *)flags[i].target)->count = 0;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        char *next = end ? end + 1 : line + strlen(line);
        if (end)
            *end = '\0';
        char *eq = strstr(line, " = ");
        if (eq) {
            *eq = '\0';
            struct flag *f = (struct flag *)flag_find(flags, n_flags, line);
            if (f && !f->seen && !skipped(f->name, skip) &&
                restore_value(f, eq + 3, command) != 0)
                return -1;
        }
        line = next;
    }
    return 0;
}

int flags_parse_after_positional(struct flag *flags, int n_flags, int argc, char **argv,
                                 const char *command, const char *what,
                                 const char *placeholder, const char *usage_head)
{
    if (argc < 3 || argv[2][0] == '-') {
        for (int i = 2; i < argc; i++)
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                flags_usage(stdout, flags, n_flags, usage_head);
                return 1;
            }
        fprintf(stderr, "%s: %s comes first: %s %s [options] (see %s --help)\n", command, what,
                command, placeholder, command);
        return -1;
    }
    return flags_parse(flags, n_flags, argc, argv, 3, command, usage_head);
}
