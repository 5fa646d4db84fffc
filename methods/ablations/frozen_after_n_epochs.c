/* RQ3 (c): is continued exploration needed? DSR whose reallocation stops
 * after N epochs (stop_epoch = N, which must be given); the structure then
 * stays as it is. DSR's own hooks do the work with DSR's option table. */
#include <stdio.h>

#include "dsr.h"

static int frozen_configure(struct method_run *run, struct model_spec *spec)
{
    if (run->option[SCHEDULE_STOP_EPOCH] == 0) {
        fprintf(stderr, "dsrbench: frozen-after-N-epochs: give the epoch N at which "
                        "reallocation stops: --method-option stop_epoch=N\n");
        return -1;
    }
    return method_dsr.configure(run, spec);
}

static int frozen_init(struct method_run *run)
{
    return method_dsr.init(run);
}

static void frozen_after_step(void *run, struct net *net, const struct train_position *pos)
{
    method_dsr.after_step(run, net, pos);
}

static int frozen_stats(struct method_run *run, struct method_stat *out, int max)
{
    return method_dsr.stats(run, out, max);
}

static size_t frozen_state_size(const struct method_run *run)
{
    return method_dsr.state_size(run);
}

static void frozen_state_save(const struct method_run *run, void *out)
{
    method_dsr.state_save(run, out);
}

static int frozen_state_load(struct method_run *run, const void *in, size_t size)
{
    return method_dsr.state_load(run, in, size);
}

static void frozen_free_state(struct method_run *run)
{
    method_dsr.free_state(run);
}

const struct method ablation_frozen_after_n_epochs = {
    .name = "frozen-after-N-epochs",
    .summary = "RQ3: DSR whose reallocation stops after epoch N (stop_epoch=N required)",
    .sparse = 1,
    .options = dsr_options,
    .n_options = DSR_OPTIONS,
    .configure = frozen_configure,
    .init = frozen_init,
    .after_step = frozen_after_step,
    .stats = frozen_stats,
    .state_size = frozen_state_size,
    .state_save = frozen_state_save,
    .state_load = frozen_state_load,
    .free_state = frozen_free_state,
};
