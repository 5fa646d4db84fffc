/* Piecewise-constant learning rate by epoch (epochs count from 0).
 * Presets are PAPER.md's schedules; a custom list reads "0.1,0.02@60,0.004@120":
 * the first value holds from epoch 0, each "lr@epoch" from that epoch on. */
#ifndef DSRBENCH_SCHEDULE_H
#define DSRBENCH_SCHEDULE_H
#include <stddef.h>

#define SCHEDULE_MAX_STEPS 16

struct lr_schedule {
    int steps;
    int start_epoch[SCHEDULE_MAX_STEPS]; /* increasing, first is 0 */
    double lr[SCHEDULE_MAX_STEPS];
};

/* text is a preset name or a custom list; base_lr > 0 rescales a preset
 * (presets start at 0.1); `epochs` sizes the "scaled" preset. */
int lr_schedule_parse(const char *text, double base_lr, int epochs, struct lr_schedule *out,
                      char *err, size_t err_len);
/* whether text names a preset (which --lr rescales) rather than a custom list */
int lr_schedule_is_preset(const char *text);
double lr_at_epoch(const struct lr_schedule *s, int epoch);
/* "0.1,0.02@60,..." back, for manifests */
void lr_schedule_format(const struct lr_schedule *s, char *out, size_t out_len);
/* preset names with one-line descriptions, for --help */
extern const char lr_schedule_help[];

#endif
