/* DSR's option table, shared with the ablation that freezes DSR's structure
 * after N epochs (methods/ablations/frozen_after_n_epochs.c): the same
 * options in the same places, so DSR's hooks read them alike. */
#ifndef DSRBENCH_DSR_H
#define DSRBENCH_DSR_H

#include "method.h"
#include "realloc_schedule.h"

enum { DSR_OPTIONS = SCHEDULE_OPTIONS + 2 }; /* the schedule's, then delta and h0 */

extern const struct method_option dsr_options[DSR_OPTIONS];
extern const struct method method_dsr;

#endif
