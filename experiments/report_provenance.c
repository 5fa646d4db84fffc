/* The "how these results were made" part of REPORT.md: the commands (from
 * reproduce.ini, which `make reproduce` writes, else the equivalent ones),
 * the code version of the report and of the runs (their manifests), the run
 * counts and the wall times. */
#include "report.h"
#include "report_markdown.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "version.h"

struct reproduce_info {
    struct text runs;   /* "- `command`" lines */
    struct text failed; /* the same, for commands that exited 1 */
    char command[1024], started[64], finished[64], wall_seconds[32], status[16];
};

static void take_reproduce(void *ctx, const char *section, const char *key, const char *value)
{
    struct reproduce_info *r = ctx;
    if (strcmp(section, "reproduce") != 0)
        return;
    if (strcmp(key, "command") == 0)
        snprintf(r->command, sizeof r->command, "%s", value);
    else if (strcmp(key, "run") == 0)
        text_printf(&r->runs, "  - `%s`\n", value);
    else if (strcmp(key, "failed") == 0)
        text_printf(&r->failed, "  - `%s`\n", value);
    else if (strcmp(key, "started") == 0)
        snprintf(r->started, sizeof r->started, "%s", value);
    else if (strcmp(key, "finished") == 0)
        snprintf(r->finished, sizeof r->finished, "%s", value);
    else if (strcmp(key, "wall_seconds") == 0)
        snprintf(r->wall_seconds, sizeof r->wall_seconds, "%s", value);
    else if (strcmp(key, "status") == 0)
        snprintf(r->status, sizeof r->status, "%s", value);
}

/* the distinct [build] values of the runs' manifests: git_commit, openblas_core */
struct builds {
    char commits[1024], cores[256];
};

static void add_distinct(char *list, size_t len, const char *value)
{
    char padded[300];
    snprintf(padded, sizeof padded, "`%s`", value);
    if (strstr(list, padded))
        return;
    const size_t n = strlen(list);
    snprintf(list + n, len - n, "%s%s", n ? ", " : "", padded);
}

static void take_build(void *ctx, const char *section, const char *key, const char *value)
{
    struct builds *b = ctx;
    if (strcmp(section, "build") != 0)
        return;
    if (strcmp(key, "git_commit") == 0)
        add_distinct(b->commits, sizeof b->commits, value);
    else if (strcmp(key, "openblas_core") == 0)
        add_distinct(b->cores, sizeof b->cores, value);
}

void report_duration(double seconds, char *buf, size_t len)
{
    if (isnan(seconds))
        snprintf(buf, len, "unknown");
    else if (seconds < 60)
        snprintf(buf, len, "%.0f s", seconds);
    else if (seconds < 3600)
        snprintf(buf, len, "%.0f s (%d min %02d s)", seconds, (int)(seconds / 60),
                 (int)fmod(seconds, 60));
    else
        snprintf(buf, len, "%.0f s (%d h %02d min)", seconds, (int)(seconds / 3600),
                 (int)fmod(seconds / 60, 60));
}

void report_markdown_provenance(const struct report *r, struct text *md)
{
    struct reproduce_info info = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s/reproduce.ini", r->root);
    const int have_reproduce = manifest_read(path, take_reproduce, &info) == 0;
    struct builds builds = {0};
    double training = 0;
    int complete = 0, total = 0;
    for (int x = 0; x < r->count; x++) {
        const struct report_experiment *e = &r->experiments[x];
        for (int i = 0; i < e->count; i++) {
            const struct report_run *run = &e->runs[i];
            total++;
            if (!run->complete)
                continue;
            complete++;
            training += isnan(run->wall_seconds) ? 0 : run->wall_seconds;
            snprintf(path, sizeof path, "%s/%s/manifest.ini", e->dir, run->run_id);
            manifest_read(path, take_build, &builds);
        }
    }
    text_printf(md, "## How these results were made\n\n");
    if (have_reproduce && info.command[0]) {
        char wall[64];
        report_duration(info.wall_seconds[0] ? atof(info.wall_seconds) : NAN, wall, sizeof wall);
        text_printf(md, "- Command: `%s` (from the repository's top folder)", info.command);
        if (info.started[0])
            text_printf(md, ", started %s, finished %s", info.started, info.finished);
        text_printf(md, ", wall time %s%s%s.\n", wall,
                    info.status[0] && strcmp(info.status, "0") != 0 ? ", exit status " : "",
                    info.status[0] && strcmp(info.status, "0") != 0 ? info.status : "");
        text_printf(md, "  It ran:\n%s", info.runs.data ? info.runs.data : "");
        if (info.failed.len)
            text_printf(md, "  These exited with status 1 (failed runs, or their data set is "
                            "missing; their output says which):\n%s", info.failed.data);
        text_printf(md, "  (The wall time is that of this invocation; runs that an earlier, "
                        "interrupted one completed were skipped.)\n");
    } else {
        text_printf(md, "- Commands (no `reproduce.ini` here, so these are the equivalent "
                        "commands, from the repository's top folder):\n");
        for (int x = 0; x < r->count; x++)
            text_printf(md, "  - `bin/dsrbench run experiments/specs/%s.ini --profile %s "
                            "--results %s`\n",
                        r->experiments[x].name, r->profile, r->results);
    }
    text_printf(md, "- Figures and this report: `make figures PROFILE=%s RESULTS=%s` "
                    "(`bin/dsrbench report %s --csv-only`, `sh plots/draw.sh %s`, "
                    "`bin/dsrbench report %s`).\n",
                r->profile, r->results, r->root, r->root, r->root);
    text_printf(md, "- Code version: report made by dsrbench `%s`; runs made by %s.\n",
                DSRBENCH_GIT, builds.commits[0] ? builds.commits : "(no run manifests)");
    if (builds.cores[0])
        text_printf(md, "- CPU (OpenBLAS core): %s.\n", builds.cores);
    char wall[64];
    report_duration(training, wall, sizeof wall);
    text_printf(md, "- Runs: %d of %d complete; training time summed over the runs "
                    "(their `wall_seconds`): %s.\n\n",
                complete, total, wall);
    text_free(&info.runs);
    text_free(&info.failed);
}
