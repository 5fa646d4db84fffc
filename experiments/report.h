/* dsrbench report: one profile's results (RESULTS/<profile>/<experiment>/
 * summary.csv and the run folders) turned into the aggregated CSVs the
 * figures read, the list of figures to draw (figures.tsv) and REPORT.md with
 * a table and the findings per research question. README.md "Report and
 * figures" has the CSV columns. */
#ifndef DSRBENCH_REPORT_H
#define DSRBENCH_REPORT_H
#include <stddef.h>

#include "results_io.h"
#include "stats.h"

/* The report's allocation checks: p itself, or "out of memory" and exit 1
 * when it is NULL; a copy of s, checked the same way. */
void *report_must(void *p);
char *report_copy(const char *s);

/* one row of summary.csv; the strings point into the experiment's table */
struct report_run {
    const char *grid, *run_id, *method, *model, *data, *options, *status, *sparsity_text;
    double sparsity;
    long long seed;
    int epochs;
    int complete;
    double final_acc, best_acc, active_params, wall_seconds; /* NaN when empty */
};

struct report_experiment {
    char *name; /* its folder name (the summary's experiment column) */
    char *dir;  /* RESULTS/<profile>/<name> */
    struct csv_table summary;
    struct report_run *runs;
    int count;
};

/* Reads DIR/summary.csv. 0, or -1 with the file and the fault in err (missing
 * file, a missing column, a value that is no number). */
int report_experiment_read(const char *dir, const char *name, struct report_experiment *e,
                           char *err, size_t err_len);
void report_experiment_free(struct report_experiment *e);

/* The runs of one configuration over seeds: same model, data, method,
 * sparsity, epochs and method options. */
struct report_group {
    const char *model, *data, *method, *options, *sparsity_text;
    double sparsity;
    int epochs;
    char label[160]; /* method, plus the options that tell this group from the
                        method's other groups of the model: "frozen-after-N-
                        epochs[stop_epoch=3]" (no spaces or commas) */
    int runs, n;     /* runs in the summary, complete ones */
    int *members;    /* the n complete runs, indices into the experiment's runs */
    struct summary acc, best, params;
};

struct report_groups {
    struct report_group *g;
    int count;
};

/* Groups the runs, ordered by model and method (each in order of first
 * appearance), then sparsity (densest first), so that the rows of one
 * method's curve follow each other. */
void report_group_runs(const struct report_experiment *e, struct report_groups *out);
void report_groups_free(struct report_groups *gs);
/* the first group with this model, data and method, sparsity (< 0: any) and
 * epochs (0: any), or NULL */
const struct report_group *report_find_group(const struct report_groups *gs, const char *model,
                                             const char *data, const char *method,
                                             double sparsity, int epochs);
/* the value of NAME in "a=1;NAME=2" as a number, or NaN */
double report_option(const char *options, const char *name);

/* How to read a difference: "DSR is higher" (RQ2, RQ3), "DSR is within one
 * point of dense" (RQ1), "the correlation is positive" (RQ4). */
enum report_claim { CLAIM_HIGHER, CLAIM_NEAR, CLAIM_POSITIVE };

struct report_finding {
    int question;      /* 1..4 */
    char model[64], data[32];
    double sparsity;
    char subject[400]; /* e.g. "dsr - static" or "rho(tensor size, final sparsity)" */
    enum report_claim claim;
    double diff, low, high; /* value and 95% interval (NaN: none) */
    int na, nb;             /* seeds on either side (RQ4: nb = 0) */
    double paper;           /* the paper's value of the same difference, NaN if none */
};

struct report_findings {
    struct report_finding *f;
    int count, cap;
};

/* a new finding at the end, zeroed with NaN values */
struct report_finding *report_findings_add(struct report_findings *fs);
void report_findings_free(struct report_findings *fs);
/* RQ1 (dsr vs dense) and RQ2 (dsr minus every other method at its sparsity) */
void report_findings_budget(const struct report_groups *gs, struct report_findings *out);
/* RQ3: dsr minus reinit / original-init / static, and minus frozen after N
 * epochs (against the dsr runs of the same length) */
void report_findings_ablations(const struct report_groups *gs, struct report_findings *out);
/* "supported", "not supported", "inconclusive" or "no interval" with its reason */
const char *report_verdict(const struct report_finding *f);
/* one line: subject, value, interval, seeds, verdict, the paper's value */
void report_finding_line(const struct report_finding *f, char *buf, size_t len);

/* The paper's WRN-28-2 / CIFAR-10 and ResNet-50 / ImageNet test accuracies
 * (PAPER.md "Reference results"), NaN where it gives none. */
double report_paper_accuracy(const char *model, const char *data, const char *method,
                             double sparsity);

/* One DSR group's layers.csv files: sparsity of every layer after every
 * epoch of every run. */
struct report_layers {
    const struct report_group *group;
    int layers, epochs, runs;
    char **names;    /* layer names in the network's order (depth = index) */
    double *total;   /* positions per layer */
    double *active;  /* [run][epoch][layer] active count, NaN when missing */
    int blocks;      /* residual blocks ("block1.0", "layer2.3"), 0 if none */
    char **block_names;
    int *block_of;   /* layer -> block, -1 outside any block */
};

/* Reads the layers.csv of the group's runs. 0, or -1 with the fault in err. */
int report_layers_read(const struct report_experiment *e, const struct report_group *g,
                       struct report_layers *l, char *err, size_t err_len);
void report_layers_free(struct report_layers *l);
/* sparsity of layer (or block when block >= 0 and layer < 0) of run r after
 * epoch; NaN when missing */
double report_layer_sparsity(const struct report_layers *l, int r, int epoch, int layer);
double report_block_sparsity(const struct report_layers *l, int r, int epoch, int block);
/* RQ4: Spearman's rho of final layer sparsity with tensor size and with
 * depth, per run, as mean and 95% interval over the runs */
void report_findings_layers(const struct report_layers *l, struct report_findings *out);

/* The aggregated CSVs of one experiment, each written only when it has rows:
 * aggregate.csv, curves.csv, dynamics.csv, frozen.csv, ablations.csv,
 * layers_final.csv, blocks_final.csv, layers_over_time.csv. Problems with
 * single runs (a missing epochs.csv) go to notes. 0 or -1 (message on stderr). */
int report_write_csvs(const struct report_experiment *e, const struct report_groups *gs,
                      struct text *notes);

/* A figure: the gnuplot script in plots/ that draws it, the file name (no
 * extension; PNG and PDF are drawn) and the -e assignments it takes. */
struct report_figure {
    const char *script;
    char name[128];
    char caption[256];
    char *vars;
};

struct report_figures {
    struct report_figure *f;
    int count;
};

/* The figures of an experiment, by its research question (its name): only
 * those whose data exists. Reads the CSVs report_write_csvs wrote. */
void report_figures_plan(const struct report_experiment *e, const struct report_groups *gs,
                         struct report_figures *out);
void report_figures_free(struct report_figures *fs);
/* DIR/figures.tsv: "script<TAB>name<TAB>assignments" per line, for plots/draw.sh */
int report_figures_write(const struct report_experiment *e, const struct report_figures *fs);

/* The whole of one profile. */
struct report {
    const char *root;     /* RESULTS/<profile> */
    const char *results;  /* RESULTS */
    const char *profile;  /* the folder name */
    struct report_experiment *experiments;
    struct report_groups *groups;
    struct report_figures *figures;
    int count;
    struct text notes;
};

/* REPORT.md from the experiments, their groups and figures (drawn or not). */
int report_write_markdown(const struct report *r, const char *path);

#endif
