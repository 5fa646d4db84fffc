/* The keys an experiment spec may hold, in which sections, and the form of
 * their values. Ranges follow `dsrbench train`'s flags, so a spec error is
 * caught before the first run starts rather than when its run fails. */
#ifndef DSRBENCH_SPEC_KEYS_H
#define DSRBENCH_SPEC_KEYS_H
#include <stddef.h>

#include "spec.h"

enum spec_key_kind {
    KEY_WORD,       /* one token */
    KEY_TEXT,       /* free text (descriptions) */
    KEY_NAMES,      /* a list of distinct names */
    KEY_INT,        /* a whole number in [min, max] */
    KEY_NUMBER,     /* a number in [min, max] */
    KEY_SPARSITIES, /* distinct numbers in [0, 1) */
    KEY_SEEDS,      /* distinct whole numbers >= 0 */
    KEY_OPTION,     /* distinct numbers (the method's table has the range) */
};

/* where a key may stand */
enum { IN_EXPERIMENT = 1, IN_PROFILE = 2, IN_GRID = 4, IN_ENTRY = 8 };

struct spec_key {
    const char *name; /* "option." matches every option.NAME */
    enum spec_key_kind kind;
    double min, max;
    int places;
    const char *flag; /* the `dsrbench train` flag it passes on, NULL when the runner uses it */
};

extern const struct spec_key spec_keys[];
extern const int spec_key_count;
const struct spec_key *spec_key_find(const char *name);

/* Every section is [experiment], [PROFILE] or [PROFILE.GRID]; every key is
 * known where it stands and its value has the right form. 0, or -1 with
 * "PATH:LINE: KEY: message" in err. */
int spec_check(const struct spec_file *f, char *err, size_t err_len);

/* the value of a checked KEY_INT or KEY_NUMBER item */
long spec_int(const struct spec_item *item);
double spec_number(const char *text);
/* a name of letters, digits, '_', '-' and '.' (when dots is set) */
int spec_is_name(const char *s, size_t len, int dots);

#endif
