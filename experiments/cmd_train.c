/* dsrbench train: flags to train_options, then one run; --resume DIR takes
 * the options back from the run's checkpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "flags.h"
#include "method.h"
#include "models.h"
#include "net_kernels.h"
#include "schedule.h"
#include "train_run.h"

static const char usage[] =
    "usage: dsrbench train --model M --data D [options]\n"
    "\n"
    "Trains one model, evaluates on the test split after every epoch and writes\n"
    "<out>/epochs.csv (one row per epoch), <out>/manifest.ini (resolved configuration)\n"
    "and, for sparse methods, <out>/layers.csv (active weights per tensor per epoch).\n"
    "Checkpoints: <out>/initial.ckpt before the first step, <out>/last.ckpt after every\n"
    "--checkpoint-every epochs and the last, <out>/final.ckpt at the end. --resume DIR\n"
    "continues an interrupted run from its newest checkpoint with the options it was\n"
    "started with (any option given as well must equal the run's).\n"
    "Progress goes to stderr: a live line on a terminal, one line per epoch otherwise.\n"
    "\nModels:\n";

static const char usage_tail[] =
    "\nData sets: fashion-mnist (default; Debian's dataset-fashion-mnist), mnist, cifar10\n"
    "(binary version; `make data-cifar10`), imagenet-shards (see README). The folder is\n"
    "--data-dir, else $DSRBENCH_DATA, else the data set's default.\n"
    "\nLearning-rate schedules (--lr-schedule):\n";

/* the command line as one string for the manifest */
static char *join_args(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

/* the flags a checkpoint does not keep: where the run is */
static const char *const not_saved[] = {"out", "resume", NULL};

/* --resume DIR: reads the newest checkpoint and takes the run's options back
 * from it; 0, or the exit status */
static int prepare_resume(struct flag *flags, int n, const char *dir, struct checkpoint *ckpt,
                          char **options)
{
    char path[4200], err[4400];
    if (flag_find(flags, n, "out")->seen) {
        fprintf(stderr, "dsrbench train: --resume %s names the run's folder; give no --out\n",
                dir);
        return 2;
    }
    if (train_run_resume_point(dir, path, sizeof path) != 0) {
        fprintf(stderr,
                "dsrbench train: --resume %s: the folder holds no checkpoint (last.ckpt or "
                "initial.ckpt) to continue from\n",
                dir);
        return 2;
    }
    if (checkpoint_read(path, ckpt, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench train: --resume %s: %s\n", dir, err);
        return 1;
    }
    *options = strdup(ckpt->meta.config);
    if (!*options ||
        flags_restore(flags, n, not_saved, *options, "dsrbench train", dir) != 0)
        return 2;
    return 0;
}

int cmd_train(int argc, char **argv)
{
    struct train_options o;
    train_options_defaults(&o);
    const char *resume_dir = NULL, *ablation = NULL, *kernels = "dense";
    struct flag_list method_options = {0};
    struct flag flags[] = {
        {"model", FLAG_STRING, &o.model, 0, 0, "M", "model (default lenet-300-100)", 0},
        {"method", FLAG_STRING, &o.method, 0, 0, "X",
         "training method (default dense; dsrbench methods lists them)", 0},
        {"ablation", FLAG_STRING, &ablation, 0, 0, "A",
         "train an RQ3 ablation instead of a method (dsrbench methods lists them)", 0},
        {"from", FLAG_STRING, &o.from, 0, 0, "DIR",
         "a finished run to start from (ablations; compressed: a trained dense run)", 0},
        {"width-factor", FLAG_DOUBLE, &o.width_factor, 0.001, 64, "F",
         "thin-dense: this width factor instead of the solved one", 0},
        {"sparsity", FLAG_DOUBLE, &o.sparsity, 0, 0.999999, "S",
         "fraction of sparse-eligible weights that are zero (sparse methods; default 0.9)", 0},
        {"method-option", FLAG_STRING_LIST, &method_options, 0, 0, "NAME=VALUE",
         "set a method option (repeatable; dsrbench methods lists them)", 0},
        {"data", FLAG_STRING, &o.data, 0, 0, "D", "data set (default fashion-mnist)", 0},
        {"data-dir", FLAG_STRING, &o.data_dir, 0, 0, "DIR", "folder holding the data set", 0},
        {"epochs", FLAG_INT, &o.epochs, 1, 100000, "N", "training epochs (default 10)", 0},
        {"batch", FLAG_INT, &o.batch, 1, 65536, "B", "mini-batch size (default 100)", 0},
        {"eval-batch", FLAG_INT, &o.eval_batch, 1, 65536, "B",
         "batch size for evaluation (default 500)", 0},
        {"lr-schedule", FLAG_STRING, &o.lr_schedule, 0, 0, "S",
         "preset or list, see above (default scaled)", 0},
        {"lr", FLAG_DOUBLE, &o.lr, 1e-9, 100, "X", "base rate presets scale to (default 0.1; lenet-5 0.05)", 0},
        {"momentum", FLAG_DOUBLE, &o.momentum, 0, 0.999999, "X", "SGD momentum (default 0.9)", 0},
        {"nesterov", FLAG_BOOL, &o.nesterov, 0, 0, "", "Nesterov momentum (default on)", 0},
        {"weight-decay", FLAG_DOUBLE, &o.weight_decay, 0, 1, "X",
         "L2 weight decay (default 5e-4)", 0},
        {"seed", FLAG_SEED, &o.seed, 0, 0, "S", "run seed (default 1)", 0},
        {"threads", FLAG_INT, &o.threads, 1, 1024, "T", "threads (default: all cores)", 0},
        {"kernels", FLAG_STRING, &kernels, 0, 0, "K",
         "masked layers run dense (inactive weights as zeros), sparse (active weights "
         "only) or auto (per layer by density) kernels (default dense)", 0},
        {"train-subset", FLAG_INT, &o.train_subset, 1, 1 << 30, "N",
         "use the first N training examples", 0},
        {"test-subset", FLAG_INT, &o.test_subset, 1, 1 << 30, "N",
         "use the first N test examples", 0},
        {"augment", FLAG_STRING, &o.augment, 0, 0, "A",
         "default, none, flip, crop, crop-flip (default: the data set's)", 0},
        {"crop-pad", FLAG_INT, &o.crop_pad, 1, 64, "P", "padding of the random crop", 0},
        {"out", FLAG_STRING, &o.out, 0, 0, "DIR",
         "results folder (default results/runs/<model>_<data>_<method>_seed<S>)", 0},
        {"save-initial", FLAG_BOOL, &o.save_initial, 0, 0, "",
         "write <out>/initial.ckpt before the first step (default on)", 0},
        {"save-final", FLAG_BOOL, &o.save_final, 0, 0, "",
         "write <out>/final.ckpt after the last epoch (default on)", 0},
        {"checkpoint-every", FLAG_INT, &o.checkpoint_every, 0, 100000, "N",
         "write <out>/last.ckpt after every N epochs and the last (default 1; 0: never)", 0},
        {"resume", FLAG_STRING, &resume_dir, 0, 0, "DIR",
         "continue the interrupted run in DIR from its newest checkpoint", 0},
    };
    char head[8192];
    snprintf(head, sizeof head, "%s%s%s%s", usage, model_help, usage_tail, lr_schedule_help);
    const int n = sizeof flags / sizeof flags[0];
    const int rc = flags_parse(flags, n, argc, argv, 2, "dsrbench train", head);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    const int method_given = flag_find(flags, n, "method")->seen;
    struct checkpoint ckpt = {0};
    char *saved_options = NULL, *options_text = NULL, *command = NULL;
    int status = 0;
    if (resume_dir) {
        status = prepare_resume(flags, n, resume_dir, &ckpt, &saved_options);
        o.out = resume_dir;
        o.resume = &ckpt;
    }
    /* after a resume: --ablation may come back from the run's saved options */
    if (status == 0 && ablation) {
        if (method_given) {
            fprintf(stderr, "dsrbench train: give --method or --ablation, not both\n");
            status = 2;
        }
        if (status == 0 && !ablation_find(ablation)) {
            fprintf(stderr, "dsrbench train: --ablation '%s' is unknown (dsrbench methods lists "
                            "the ablations)\n", ablation);
            status = 2;
        }
        if (status == 0)
            o.method = ablation;
    }
    if (status == 0 && net_kernels_parse(kernels, &o.kernels) != 0) {
        fprintf(stderr, "dsrbench train: --kernels '%s': expected dense, sparse or auto\n",
                kernels);
        status = 2;
    }
    /* --lr is 0 unless given, here or in the resumed run's options */
    if (status == 0 && o.lr > 0 && !lr_schedule_is_preset(o.lr_schedule)) {
        fprintf(stderr, "dsrbench train: --lr scales a preset schedule; a custom "
                        "--lr-schedule list already gives every rate\n");
        status = 2;
    }
    const int complete = status == 0 && resume_dir && train_run_is_complete(resume_dir);
    if (complete)
        fprintf(stderr, "dsrbench train: --resume %s: the run is complete (manifest.ini "
                        "status = complete); nothing to do\n", resume_dir);
    char default_out[512];
    if (!o.out) {
        snprintf(default_out, sizeof default_out, "results/runs/%s_%s_%s_seed%llu", o.model,
                 o.data, o.method, (unsigned long long)o.seed);
        o.out = default_out;
    }
    o.method_options = method_options.items;
    o.n_method_options = method_options.count;
    if (status == 0 && !complete) {
        options_text = flags_save(flags, n, not_saved, "dsrbench train");
        command = join_args(argc, argv);
        o.options_text = options_text;
        o.command = command;
        status = options_text && command ? train_run(&o) : 1;
    }
    free(command);
    free(options_text);
    free(saved_options);
    checkpoint_free(&ckpt);
    return status;
}
