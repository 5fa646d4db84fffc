#include "progress.h"

#include <stdio.h>
#include <unistd.h>

static void format_duration(double seconds, char *out, size_t len)
{
    const long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, len, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else
        snprintf(out, len, "%ldm%02lds", s / 60, s % 60);
}

void progress_init(struct progress *p, int epochs, int first_epoch)
{
    *p = (struct progress){.interactive = isatty(STDERR_FILENO), .epochs = epochs,
                           .first_epoch = first_epoch};
}

void progress_batch(struct progress *p, const struct train_position *pos, double loss,
                    int images, double epoch_seconds)
{
    if (!p->interactive)
        return;
    const double now = monotonic_seconds();
    const int last = pos->batch + 1 == pos->batches_per_epoch;
    if (!last && now - p->last_draw < 0.25)
        return;
    p->last_draw = now;
    const double per_batch = epoch_seconds / (pos->batch + 1);
    const int batches_left = pos->batches_per_epoch - pos->batch - 1 +
                             (p->epochs - pos->epoch - 1) * pos->batches_per_epoch;
    char eta[32];
    format_duration(per_batch * batches_left, eta, sizeof eta);
    /* images/s over the epoch so far; a batch's size is constant but the last */
    fprintf(stderr, "\r\033[Kepoch %d/%d  batch %d/%d  loss %.4f  %.0f img/s  ETA %s",
            pos->epoch + 1, p->epochs, pos->batch + 1, pos->batches_per_epoch, loss,
            per_batch > 0 ? images / per_batch : 0.0, eta);
    fflush(stderr);
}

void progress_epoch(struct progress *p, const struct epoch_result *r, int train_images)
{
    p->run_seconds += r->seconds;
    const int done = r->epoch + 1 - p->first_epoch, left = p->epochs - r->epoch - 1;
    char eta[32];
    format_duration(p->run_seconds / done * left, eta, sizeof eta);
    fprintf(stderr,
            "%sepoch %d/%d  lr %g  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  "
            "%.1f s (%.0f img/s)  ETA %s\n",
            p->interactive ? "\r\033[K" : "", r->epoch + 1, p->epochs, r->lr, r->train_loss,
            r->train_acc, r->test_loss, r->test_acc, r->seconds, train_images / r->seconds, eta);
}
