/* Helpers shared by the report's CSV writers (report_csv.c, report_curves.c,
 * report_layers_csv.c). */
#ifndef DSRBENCH_REPORT_CSV_H
#define DSRBENCH_REPORT_CSV_H
#include <stddef.h>

#include "report.h"

/* v with fmt, or an empty cell for NaN */
void report_cell(char *buf, size_t len, const char *fmt, double v);
/* a DSR group's series name in the per-model figures: "s=0.9", plus the
 * bracket of its label when the method has several option sets */
void report_series(const struct report_group *g, char *buf, size_t len);
/* writes DIR/NAME when the table has rows, else removes an older one; frees t */
int report_table_write(struct csv_table *t, const char *dir, const char *name);

/* curves.csv (test accuracy per epoch of every group) and dynamics.csv
 * (DSR's H, pruned, grown per epoch), from the runs' epochs.csv */
int report_write_curves(const struct report_experiment *e, const struct report_groups *gs,
                        struct text *notes);
/* layers_final.csv, blocks_final.csv and layers_over_time.csv of the DSR
 * groups, from the runs' layers.csv */
int report_write_layer_csvs(const struct report_experiment *e, const struct report_groups *gs,
                            struct text *notes);

#endif
