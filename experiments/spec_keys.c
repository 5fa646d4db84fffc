#include "spec_keys.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ANY = IN_PROFILE | IN_GRID | IN_ENTRY, SHARED = IN_PROFILE | IN_GRID };

const struct spec_key spec_keys[] = {
    {"name", KEY_WORD, 0, 0, IN_EXPERIMENT, NULL},
    {"description", KEY_TEXT, 0, 0, IN_EXPERIMENT, NULL},
    {"models", KEY_NAMES, 0, 0, SHARED, NULL},
    {"data", KEY_WORD, 0, 0, SHARED, NULL},
    {"methods", KEY_NAMES, 0, 0, SHARED, NULL},
    {"ablations", KEY_NAMES, 0, 0, SHARED, NULL},
    {"sparsities", KEY_SPARSITIES, 0, 1, ANY, NULL},
    {"seeds", KEY_SEEDS, 0, 0, ANY, NULL},
    {"epochs", KEY_INT, 1, 100000, ANY, "--epochs"},
    {"batch", KEY_INT, 1, 65536, ANY, "--batch"},
    {"eval_batch", KEY_INT, 1, 65536, ANY, "--eval-batch"},
    {"lr_schedule", KEY_WORD, 0, 0, ANY, "--lr-schedule"},
    {"lr", KEY_NUMBER, 1e-9, 100, ANY, "--lr"},
    {"momentum", KEY_NUMBER, 0, 0.999999, ANY, "--momentum"},
    {"weight_decay", KEY_NUMBER, 0, 1, ANY, "--weight-decay"},
    {"train_subset", KEY_INT, 1, 1 << 30, ANY, "--train-subset"},
    {"test_subset", KEY_INT, 1, 1 << 30, ANY, "--test-subset"},
    {"augment", KEY_WORD, 0, 0, ANY, "--augment"},
    {"crop_pad", KEY_INT, 1, 64, ANY, "--crop-pad"},
    {"threads", KEY_INT, 1, 1024, ANY, NULL},
    {"kernels", KEY_WORD, 0, 0, ANY, "--kernels"},
    {"from", KEY_WORD, 0, 0, IN_ENTRY, NULL},
    {"option.", KEY_OPTION, 0, 0, IN_ENTRY, NULL},
};
const int spec_key_count = sizeof spec_keys / sizeof spec_keys[0];

const struct spec_key *spec_key_find(const char *name)
{
    for (int i = 0; i < spec_key_count; i++) {
        const char *k = spec_keys[i].name;
        const size_t len = strlen(k);
        if (k[len - 1] == '.' ? strncmp(name, k, len) == 0 && name[len] : strcmp(name, k) == 0)
            return &spec_keys[i];
    }
    return NULL;
}

int spec_is_name(const char *s, size_t len, int dots)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && (!dots || s[i] != '.'))
            return 0;
    return 1;
}

long spec_int(const struct spec_item *item)
{
    return strtol(item->value, NULL, 10);
}

double spec_number(const char *text)
{
    return strtod(text, NULL);
}

static int parse_number(const char *text, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    return end != text && !*end && !errno && isfinite(*v) ? 0 : -1;
}

static int parse_whole(const char *text, double *v)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)text[0]))
        return -1;
    const unsigned long long u = strtoull(text, &end, 10);
    *v = (double)u;
    return end != text && !*end && !errno ? 0 : -1;
}

/* one list item of a list key; 0 or -1 with the message */
static int check_list_item(const struct spec_file *f, const struct spec_item *it,
                           const struct spec_key *k, const char *text, char *err, size_t len)
{
    double v;
    switch (k->kind) {
    case KEY_NAMES:
        if (!spec_is_name(text, strlen(text), 1))
            return spec_error(err, len, f, it->line, it->key,
                              "'%s': expected a name of letters, digits, '_', '-' and '.'",
                              text);
        return 0;
    case KEY_SPARSITIES:
        if (parse_number(text, &v) != 0 || v < 0 || v >= 1)
            return spec_error(err, len, f, it->line, it->key,
                              "'%s': expected a sparsity in [0, 1)", text);
        return 0;
    case KEY_SEEDS:
        if (parse_whole(text, &v) != 0)
            return spec_error(err, len, f, it->line, it->key,
                              "'%s': expected a whole number >= 0", text);
        return 0;
    case KEY_OPTION:
        if (parse_number(text, &v) != 0)
            return spec_error(err, len, f, it->line, it->key, "'%s': expected a number", text);
        return 0;
    default: return 0;
    }
}

static int check_list(const struct spec_file *f, const struct spec_item *it,
                      const struct spec_key *k, char *err, size_t len)
{
    struct spec_list l;
    int rc = 0;
    if (spec_list_split(it->value, &l) != 0)
        rc = spec_error(err, len, f, it->line, it->key, "more than %d values", SPEC_LIST_MAX);
    else if (l.count == 0)
        rc = spec_error(err, len, f, it->line, it->key, "needs at least one value");
    for (int i = 0; i < l.count && rc == 0; i++) {
        rc = check_list_item(f, it, k, l.items[i], err, len);
        for (int j = 0; j < i && rc == 0; j++) {
            const int same = k->kind == KEY_NAMES ? strcmp(l.items[i], l.items[j]) == 0
                                                  : spec_number(l.items[i]) ==
                                                        spec_number(l.items[j]);
            if (same)
                rc = spec_error(err, len, f, it->line, it->key, "'%s' is listed twice",
                                l.items[i]);
        }
    }
    spec_list_free(&l);
    return rc;
}

static int check_value(const struct spec_file *f, const struct spec_item *it,
                       const struct spec_key *k, char *err, size_t len)
{
    const char *v = it->value;
    double x;
    switch (k->kind) {
    case KEY_TEXT: return 0;
    case KEY_WORD:
        if (!*v || strpbrk(v, " \t"))
            return spec_error(err, len, f, it->line, it->key, "'%s': expected one value", v);
        return 0;
    case KEY_INT:
        if (parse_whole(v, &x) != 0 || x < k->min || x > k->max)
            return spec_error(err, len, f, it->line, it->key,
                              "'%s': expected a whole number from %g to %g", v, k->min, k->max);
        return 0;
    case KEY_NUMBER:
        if (parse_number(v, &x) != 0 || x < k->min || x > k->max)
            return spec_error(err, len, f, it->line, it->key,
                              "'%s': expected a number from %g to %g", v, k->min, k->max);
        return 0;
    default: return check_list(f, it, k, err, len);
    }
}

/* [experiment], [PROFILE] or [PROFILE.GRID] */
static int check_section(const struct spec_file *f, const char *name, int line, char *err,
                         size_t len)
{
    if (strcmp(name, "experiment") == 0)
        return 0;
    const char *dot = strchr(name, '.');
    const size_t profile_len = dot ? (size_t)(dot - name) : strlen(name);
    if (!spec_is_name(name, profile_len, 0) || (dot && !spec_is_name(dot + 1, strlen(dot + 1), 0)))
        return spec_error(err, len, f, line, NULL,
                          "[%s]: expected [experiment], [PROFILE] or [PROFILE.GRID] (names of "
                          "letters, digits, '_' and '-')",
                          name);
    if (profile_len == strlen("experiment") && strncmp(name, "experiment", profile_len) == 0)
        return spec_error(err, len, f, line, NULL,
                          "[%s]: 'experiment' is the spec's own section, not a profile", name);
    return 0;
}

static int check_item(const struct spec_file *f, const struct spec_item *it, char *err,
                      size_t len)
{
    if (!*it->section)
        return spec_error(err, len, f, it->line, it->key,
                          "outside any section (start with [experiment] or [PROFILE])");
    const int place = strcmp(it->section, "experiment") == 0 ? IN_EXPERIMENT
                      : strchr(it->section, '.')               ? IN_GRID
                                                               : IN_PROFILE;
    const char *key = it->key;
    int where = place;
    const char *dot = strchr(key, '.');
    if (dot && strncmp(key, "option.", 7) != 0) {
        if (place != IN_GRID)
            return spec_error(err, len, f, it->line, it->key,
                              "per-method keys (NAME.KEY) belong in a grid section "
                              "[PROFILE.GRID], not in [%s]",
                              it->section);
        key = dot + 1;
        where = IN_ENTRY;
    }
    const struct spec_key *k = spec_key_find(key);
    if (!k)
        return spec_error(err, len, f, it->line, it->key,
                          "unknown key '%s' (README.md \"Running experiments\" lists the keys)",
                          key);
    if (!(k->places & where)) {
        const char *why = where == IN_EXPERIMENT        ? "[experiment] holds name and description"
                          : k->places == IN_EXPERIMENT ? "it belongs in [experiment]"
                          : k->places == IN_ENTRY      ? "it is per method: write METHOD.KEY in a "
                                                         "grid section"
                                                       : "it applies to a whole grid, not to one "
                                                         "method";
        return spec_error(err, len, f, it->line, it->key, "not allowed in [%s]: %s",
                          it->section, why);
    }
    return check_value(f, it, k, err, len);
}

int spec_check(const struct spec_file *f, char *err, size_t err_len)
{
    for (int i = 0; i < f->n_sections; i++)
        if (check_section(f, f->sections[i].name, f->sections[i].line, err, err_len) != 0)
            return -1;
    for (int i = 0; i < f->count; i++)
        if (check_item(f, &f->items[i], err, err_len) != 0)
            return -1;
    return 0;
}
