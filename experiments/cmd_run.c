/* dsrbench run: an experiment spec's profile, expanded and run. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "flags.h"
#include "plan.h"
#include "runner.h"
#include "spec.h"

static const char usage[] =
    "usage: dsrbench run SPEC [options]\n"
    "\n"
    "Runs the grid of one profile of an experiment spec (experiments/specs/*.ini): every\n"
    "run is `dsrbench train ... --out <results>/<profile>/<experiment>/<run id>` in a child\n"
    "process, several at a time, each after the run it reads. Runs already complete are\n"
    "skipped and unfinished ones redone, so the same command resumes a stopped grid.\n"
    "Writes <results>/<profile>/<experiment>/summary.csv (one row per run) and each run's\n"
    "output to its train.log. Exit status: 0 all runs complete, 1 a run failed or the\n"
    "runner was stopped, 2 an error in the spec or the options.\n";

int cmd_run(int argc, char **argv)
{
    const char *profile = "default", *results = "results", *only = NULL;
    int jobs = 0, threads = 0, dry_run = 0;
    struct flag flags[] = {
        {"profile", FLAG_STRING, &profile, 0, 0, "P", "smoke, default or paper (default: default)", 0},
        {"jobs", FLAG_INT, &jobs, 1, 256, "N",
         "runs at a time (default: cores / threads per run)", 0},
        {"threads", FLAG_INT, &threads, 1, 1024, "T",
         "threads of every run (default: the spec's threads, else 1)", 0},
        {"only", FLAG_STRING, &only, 0, 0, "PATTERN",
         "only the runs whose id matches this shell pattern (and the runs they read)", 0},
        {"dry-run", FLAG_BOOL, &dry_run, 0, 0, "", "print the runs in order with their commands", 0},
        {"results", FLAG_STRING, &results, 0, 0, "DIR", "results folder (default results)", 0},
    };
    const int n = sizeof flags / sizeof flags[0];
    const int parsed =
        flags_parse_after_positional(flags, n, argc, argv, "dsrbench run", "the spec file", "SPEC", usage);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    char err[2048];
    struct spec_file spec;
    if (spec_read(argv[2], &spec, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench run: %s\n", err);
        return 2;
    }
    struct spec_catalog catalog;
    catalog_registry(&catalog);
    const struct plan_options po = {.profile = profile, .results = results,
                                    .program = argv[0], .threads = threads};
    struct plan plan;
    const int built = plan_build(&spec, &catalog, &po, &plan, err, sizeof err);
    spec_free(&spec);
    if (built != 0) {
        fprintf(stderr, "dsrbench run: %s\n", err);
        return 2;
    }
    int widest = 1;
    for (int i = 0; i < plan.count; i++)
        widest = plan.runs[i].threads > widest ? plan.runs[i].threads : widest;
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs == 0)
        jobs = cores > widest ? (int)(cores / widest) : 1;
    else if (!dry_run && (long)jobs * widest > cores)
        fprintf(stderr, "dsrbench run: note: --jobs %d x %d threads is more than the %ld cores; "
                        "runs will compete for them\n",
                jobs, widest, cores);
    const struct runner_options ro = {.jobs = jobs, .only = only, .dry_run = dry_run};
    const int rc = runner_execute(&plan, &ro);
    plan_free(&plan);
    return rc;
}
