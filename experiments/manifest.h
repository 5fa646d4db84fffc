/* The manifest of a run: its resolved configuration plus the facts needed to
 * reproduce it (code version, compiler, BLAS core, threads), as INI text. */
#ifndef DSRBENCH_MANIFEST_H
#define DSRBENCH_MANIFEST_H
#include "results_io.h"

/* appends a [build] section: git commit, compiler, OpenBLAS core and config */
void manifest_build_section(struct text *t);
/* creates a folder and its parents; 0 or -1 with a message on stderr */
int make_dirs(const char *path);

#endif
