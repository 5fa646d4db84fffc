/* The parts of REPORT.md (report_markdown.c writes the whole). */
#ifndef DSRBENCH_REPORT_MARKDOWN_H
#define DSRBENCH_REPORT_MARKDOWN_H
#include <stddef.h>

#include "report.h"

/* "95 s (1 min 35 s)", "unknown" for NaN */
void report_duration(double seconds, char *buf, size_t len);
/* commands, code versions, run counts, wall times */
void report_markdown_provenance(const struct report *r, struct text *md);
/* a table of findings with how each reads */
void report_markdown_findings(const struct report_findings *fs, struct text *md);

#endif
