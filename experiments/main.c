/* dsrbench: the command-line entry point. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "version.h"

static const char usage[] =
    "usage: dsrbench COMMAND [options]\n"
    "\n"
    "A harness for dynamic sparse training research (Mostafa & Wang, ICML 2019).\n"
    "\n"
    "Commands:\n"
    "  train     train one model on one data set, write per-epoch CSV and a manifest\n"
    "  run       run an experiment spec's grid of trainings, write summary.csv\n"
    "  report    aggregate a profile's results into figure CSVs and REPORT.md\n"
    "  info      parameter counts and per-tensor table of a model\n"
    "  methods   the training methods and their options\n"
    "  bench     time training steps against PyTorch (make bench)\n"
    "  version   print the code version\n"
    "\n"
    "`dsrbench COMMAND --help` describes a command's options.\n";

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "train") == 0)
        return cmd_train(argc, argv);
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(argv[1], "report") == 0)
        return cmd_report(argc, argv);
    if (strcmp(argv[1], "info") == 0)
        return cmd_info(argc, argv);
    if (strcmp(argv[1], "methods") == 0)
        return cmd_methods(argc, argv);
    if (strcmp(argv[1], "bench") == 0)
        return cmd_bench(argc, argv);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("dsrbench %s\n", DSRBENCH_GIT);
        return 0;
    }
    fprintf(stderr, "dsrbench: unknown command '%s' (expected train, run, report, info, methods, "
                    "bench or version; see "
                    "dsrbench --help)\n",
            argv[1]);
    return 2;
}
