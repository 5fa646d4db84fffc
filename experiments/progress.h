/* Live progress on stderr: a rewritten status line (batch, loss, images/s,
 * ETA) when stderr is a terminal, and one plain line per epoch always. */
#ifndef DSRBENCH_PROGRESS_H
#define DSRBENCH_PROGRESS_H
#include "train.h"

struct progress {
    int interactive;
    int epochs;
    int first_epoch;
    double last_draw;
    double run_seconds; /* finished epochs, for the ETA */
};

void progress_init(struct progress *p, int epochs, int first_epoch);
void progress_batch(struct progress *p, const struct train_position *pos, double loss,
                    int images, double epoch_seconds);
void progress_epoch(struct progress *p, const struct epoch_result *r, int train_images);

#endif
