/* dsrbench report: aggregated CSVs, the figure list and REPORT.md for one
 * profile's results folder. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "flags.h"
#include "report.h"

static const char usage[] =
    "usage: dsrbench report RESULTS/PROFILE [options]\n"
    "\n"
    "Reads the summary.csv of every experiment folder below RESULTS/PROFILE (as `dsrbench\n"
    "run` writes them) and the runs' epochs.csv and layers.csv, and writes beside each\n"
    "summary the aggregated CSVs the figures read (aggregate.csv, curves.csv, dynamics.csv,\n"
    "ablations.csv, frozen.csv, layers_final.csv, blocks_final.csv, layers_over_time.csv)\n"
    "and figures.tsv (the figures plots/draw.sh draws), then RESULTS/PROFILE/REPORT.md: a\n"
    "table and the paper's findings per research question, with the differences and\n"
    "their 95% intervals over seeds. `make figures` runs it, draws, and runs it again so\n"
    "that the report links the figures drawn.\n";

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the sub-folders of root that hold a summary.csv, sorted; their count or -1 */
static int experiment_folders(const char *root, char ***names)
{
    DIR *d = opendir(root);
    if (!d)
        return -1;
    int count = 0, cap = 0;
    *names = NULL;
    for (const struct dirent *ent; (ent = readdir(d)) != NULL;) {
        if (ent->d_name[0] == '.')
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s/summary.csv", root, ent->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (count == cap) {
            cap = cap ? 2 * cap : 8;
            char **grown = realloc(*names, (size_t)cap * sizeof *grown);
            if (!grown)
                break;
            *names = grown;
        }
        (*names)[count++] = strdup(ent->d_name);
    }
    closedir(d);
    if (count > 0)
        qsort(*names, (size_t)count, sizeof **names, by_name);
    return count;
}

int cmd_report(int argc, char **argv)
{
    int csv_only = 0;
    struct flag flags[] = {
        {"csv-only", FLAG_BOOL, &csv_only, 0, 0, "",
         "write the CSVs and figures.tsv, not REPORT.md", 0},
    };
    const int n = sizeof flags / sizeof flags[0];
    const int parsed =
        flags_parse_after_positional(flags, n, argc, argv, "dsrbench report", "the results folder", "RESULTS/PROFILE", usage);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;

    /* RESULTS/PROFILE without trailing slashes; RESULTS and PROFILE from it */
    char root[4096], results[4096];
    snprintf(root, sizeof root, "%s", argv[2]);
    for (size_t len = strlen(root); len > 1 && root[len - 1] == '/'; len--)
        root[len - 1] = '\0';
    const char *slash = strrchr(root, '/');
    const char *profile = slash ? slash + 1 : root;
    if (!slash)
        snprintf(results, sizeof results, ".");
    else
        snprintf(results, sizeof results, "%.*s", slash == root ? 1 : (int)(slash - root), root);

    char **names;
    const int count = experiment_folders(root, &names);
    if (count < 0) {
        fprintf(stderr, "dsrbench report: cannot read the folder %s (expected RESULTS/PROFILE, "
                        "e.g. results/default)\n", root);
        return 2;
    }
    if (count == 0) /* still a report: one that says every experiment is missing */
        fprintf(stderr, "dsrbench report: note: no experiment in %s (no folder holding a "
                        "summary.csv; `dsrbench run SPEC --profile %s` makes one)\n",
                root, profile);
    struct report r = {.root = root, .results = results, .profile = profile, .count = count};
    r.experiments = calloc((size_t)count + 1, sizeof *r.experiments);
    r.groups = calloc((size_t)count + 1, sizeof *r.groups);
    r.figures = calloc((size_t)count + 1, sizeof *r.figures);
    int rc = 0, loaded = 0;
    for (int x = 0; x < count && rc == 0; x++, loaded++) {
        char dir[4096], err[4200];
        snprintf(dir, sizeof dir, "%s/%s", root, names[x]);
        if (report_experiment_read(dir, names[x], &r.experiments[x], err, sizeof err) != 0) {
            fprintf(stderr, "dsrbench report: %s\n", err);
            rc = 1;
            break;
        }
        report_group_runs(&r.experiments[x], &r.groups[x]);
        if (report_write_csvs(&r.experiments[x], &r.groups[x], &r.notes) != 0)
            rc = 1;
        report_figures_plan(&r.experiments[x], &r.groups[x], &r.figures[x]);
        if (report_figures_write(&r.experiments[x], &r.figures[x]) != 0)
            rc = 1;
    }
    if (rc == 0 && !csv_only) {
        char path[4200];
        snprintf(path, sizeof path, "%s/REPORT.md", root);
        if (report_write_markdown(&r, path) != 0)
            rc = 1;
        else
            fprintf(stderr, "dsrbench report: wrote %s\n", path);
    }
    if (r.notes.len)
        fprintf(stderr, "dsrbench report: notes:\n%s", r.notes.data);
    for (int x = 0; x < loaded; x++) {
        report_figures_free(&r.figures[x]);
        report_groups_free(&r.groups[x]);
        report_experiment_free(&r.experiments[x]);
    }
    for (int x = 0; x < count; x++)
        free(names[x]);
    free(names);
    free(r.experiments);
    free(r.groups);
    free(r.figures);
    text_free(&r.notes);
    return rc;
}
