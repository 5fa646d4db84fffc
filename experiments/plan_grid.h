/* The grid expansion under plan_build: what plan.c (ordering, commands,
 * names) and plan_grid.c (expanding each [PROFILE.GRID] section into runs)
 * share. Private to those two files; plan.h is the interface. */
#ifndef DSRBENCH_PLAN_GRID_H
#define DSRBENCH_PLAN_GRID_H
#include <stddef.h>

#include "plan.h"

/* one [PROFILE.GRID] section */
struct grid {
    const struct spec_file *f;
    const char *profile; /* the [PROFILE] section's name */
    const char *section; /* "PROFILE.GRID" */
    const char *name;    /* GRID */
    int line;
};

/* what expansion knows about a run beyond struct plan_run */
struct draft {
    const struct grid *grid;
    const struct spec_item *from; /* ENTRY.from, or NULL */
    int sparse;
    double sparsity;
};

/* the spec being expanded and the runs so far, in expansion order */
struct builder {
    const struct spec_file *f;
    const struct spec_catalog *catalog;
    const struct plan_options *o;
    char *err;
    size_t err_len;
    const char *dir; /* <results>/<profile>/<experiment> */
    struct plan_run *runs;
    struct draft *drafts;
    int count, capacity;
};

/* exits with a message when p is NULL (out of memory) */
void *plan_must(void *p);
/* a new string, printf-formatted */
char *plan_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* [P.G] ENTRY.KEY, else [P.G] KEY, else [P] KEY (entry NULL: the last two) */
const struct spec_item *plan_lookup(const struct grid *g, const char *entry, const char *key);
/* appends the runs of every model x method/ablation x sparsity x option value
 * x seed of grid g to b, in that nesting order; 0, or -1 with the error in
 * b->err */
int plan_expand_grid(struct builder *b, const struct grid *g);

#endif
