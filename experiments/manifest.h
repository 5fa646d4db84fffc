/* The manifest of a run: its resolved configuration plus the facts needed to
 * reproduce it (code version, compiler, BLAS core, threads), as INI text. */
#ifndef DSRBENCH_MANIFEST_H
#define DSRBENCH_MANIFEST_H
#include "results_io.h"

/* appends a [build] section: git commit, compiler, OpenBLAS core and config */
void manifest_build_section(struct text *t);
/* Reads a manifest back: calls take for every "key = value" line with the
 * section it stands in (without brackets). Lines may be of any length (the
 * command line often exceeds libinih's limit). 0, or -1 when the file cannot
 * be opened. */
int manifest_read(const char *path,
                  void (*take)(void *ctx, const char *section, const char *key,
                               const char *value),
                  void *ctx);
/* creates a folder and its parents; 0 or -1 with a message on stderr */
int make_dirs(const char *path);

#endif
