/* Table-driven command-line flags: "--name value", "--name=value", and for
 * booleans "--name" / "--no-name". Every refusal names the flag, the value and
 * what was expected. */
#ifndef DSRBENCH_FLAGS_H
#define DSRBENCH_FLAGS_H
#include <stdint.h>
#include <stdio.h>

enum flag_type { FLAG_INT, FLAG_SEED, FLAG_DOUBLE, FLAG_STRING, FLAG_BOOL, FLAG_STRING_LIST };

#define FLAG_LIST_MAX 16

/* the target of a FLAG_STRING_LIST: the flag may be given up to FLAG_LIST_MAX times */
struct flag_list {
    const char *items[FLAG_LIST_MAX];
    int count;
};

struct flag {
    const char *name; /* without the leading dashes */
    enum flag_type type;
    void *target;     /* int*, uint64_t*, double*, const char**, int*, struct flag_list* */
    double min, max;  /* inclusive range for numbers */
    const char *arg;  /* placeholder in --help, e.g. "N" */
    const char *help;
    int seen;         /* set when given on the command line */
};

/* Parses argv[first..argc). Returns 0 on success, 1 when --help was asked
 * for (usage printed to stdout), -1 on an error (message on stderr). */
int flags_parse(struct flag *flags, int n_flags, int argc, char **argv, int first,
                const char *command, const char *usage_head);
void flags_usage(FILE *out, const struct flag *flags, int n_flags, const char *usage_head);
/* flags_parse for commands whose one positional argument (argv[2]) comes
 * first, e.g. `dsrbench run SPEC [options]`: --help before it still prints
 * the usage; a missing one is refused naming `what` ("the spec file") and
 * `placeholder` ("SPEC"). Flags start at argv[3]; same returns as flags_parse. */
int flags_parse_after_positional(struct flag *flags, int n_flags, int argc, char **argv,
                                 const char *command, const char *what,
                                 const char *placeholder, const char *usage_head);
/* the flag entry by name, or NULL */
const struct flag *flag_find(const struct flag *flags, int n_flags, const char *name);

/* Saved options, so a run can be continued with the options it started with.
 * flags_save writes one "name = value" line per flag value (a list flag one
 * line per item; an unset string none), skipping the NULL-terminated `skip`
 * names; a malloc'd string, or NULL (message on stderr) when a value holds a
 * line break. flags_restore reads such text back: a flag not given on this
 * command line takes the saved value; a flag given must equal it, else -1
 * with a message naming the flag, both values and `source`. Lines that name
 * no flag are ignored. The text is cut up in place and string values point
 * into it: keep it while the flags' targets are in use. */
char *flags_save(const struct flag *flags, int n_flags, const char *const *skip,
                 const char *command);
int flags_restore(struct flag *flags, int n_flags, const char *const *skip, char *text,
                  const char *command, const char *source);

#endif
