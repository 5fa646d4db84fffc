/* dsrbench report on hand-made results folders with known numbers: groups
 * over seeds and aggregate.csv, the findings of RQ1-RQ4 (differences with
 * Welch intervals worked out by hand, their readings and lines), per-layer
 * and per-block sparsity, the per-epoch curves, the figure plan and
 * REPORT.md. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

static char top[64], root[256]; /* a fresh RESULTS/<profile> per test */

static void make_root(void)
{
    snprintf(top, sizeof top, "/tmp/dsrbench-report-XXXXXX");
    cr_assert_not_null(mkdtemp(top));
    snprintf(root, sizeof root, "%s/smoke", top);
    cr_assert_eq(mkdir(root, 0777), 0);
}

static void remove_root(void)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", top);
    if (top[0] && system(command) != 0)
        fprintf(stderr, "test_report: could not remove %s\n", top);
}

TestSuite(report, .fini = remove_root);

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static const char header[] =
    "experiment,profile,grid,run_id,method,model,data,sparsity,seed,epochs,method_options,"
    "source,status,final_test_acc,best_test_acc,active_params,total_params,wall_seconds\n";

/* writes ROOT/NAME/summary.csv from rows of "run_id,method,model,data,sparsity,seed,
 * epochs,options,status,acc,params" and reads it back as an experiment */
static void experiment(const char *name, const char *const *rows, int n,
                       struct report_experiment *e, struct report_groups *gs)
{
    char dir[512], path[600], text[8192];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    cr_assert_eq(mkdir(dir, 0777), 0);
    size_t len = (size_t)snprintf(text, sizeof text, "%s", header);
    for (int i = 0; i < n; i++) {
        char id[64], method[64], model[64], data[64], s[16], seed[8], epochs[8], opts[64],
            status[16], acc[16], params[16];
        cr_assert_eq(sscanf(rows[i], "%63[^,],%63[^,],%63[^,],%63[^,],%15[^,],%7[^,],%7[^,],"
                                     "%63[^,],%15[^,],%15[^,],%15[^,]",
                            id, method, model, data, s, seed, epochs, opts, status, acc, params),
                     11, "bad test row %s", rows[i]);
        const int done = strcmp(status, "complete") == 0;
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "%s,smoke,g,%s,%s,%s,%s,%s,%s,%s,%s,,%s,%s,%s,%s,%s,%s\n", name,
                                id, method, model, data, s, seed, epochs,
                                strcmp(opts, "-") == 0 ? "" : opts, status, done ? acc : "",
                                done ? acc : "", done ? params : "", done ? "266610" : "",
                                done ? "10.5" : "");
    }
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    write_text(path, text);
    char err[512];
    cr_assert_eq(report_experiment_read(dir, name, e, err, sizeof err), 0, "%s", err);
    report_group_runs(e, gs);
}

static const char *const budget_rows[] = {
    "dense_seed1,dense,lenet-300-100,fashion-mnist,0,1,6,-,complete,90,266610",
    "dense_seed2,dense,lenet-300-100,fashion-mnist,0,2,6,-,complete,92,266610",
    "dense_seed3,dense,lenet-300-100,fashion-mnist,0,3,6,-,complete,94,266610",
    "dsr_seed1,dsr,lenet-300-100,fashion-mnist,0.9,1,6,np=400,complete,91,27030",
    "dsr_seed2,dsr,lenet-300-100,fashion-mnist,0.9,2,6,np=400,complete,93,27030",
    "dsr_seed3,dsr,lenet-300-100,fashion-mnist,0.9,3,6,np=400,complete,95,27030",
    "dsr_seed4,dsr,lenet-300-100,fashion-mnist,0.9,4,6,np=400,failed,0,0",
    "static_seed1,static,lenet-300-100,fashion-mnist,0.9,1,12,-,complete,80,27030",
    "static_seed2,static,lenet-300-100,fashion-mnist,0.9,2,12,-,complete,82,27030",
    "static_seed3,static,lenet-300-100,fashion-mnist,0.9,3,12,-,complete,84,27030",
};
enum { BUDGET_ROWS = sizeof budget_rows / sizeof budget_rows[0] };

Test(report, groups_runs_over_seeds)
{
    make_root();
    struct report_experiment e;
    struct report_groups gs;
    experiment("rq1_rq2_budget", budget_rows, BUDGET_ROWS, &e, &gs);
    cr_assert_eq(e.count, 10);
    cr_assert_eq(gs.count, 3);
    const struct report_group *dsr = report_find_group(&gs, "lenet-300-100", "fashion-mnist",
                                                       "dsr", 0.9, 0);
    cr_assert_not_null(dsr);
    cr_assert_eq(dsr->runs, 4, "the failed run is listed");
    cr_assert_eq(dsr->n, 3, "but not counted");
    cr_assert_float_eq(dsr->acc.mean, 93, 1e-12);
    cr_assert_float_eq(dsr->acc.std, 2, 1e-12);
    cr_assert_float_eq(dsr->acc.median, 93, 1e-12);
    cr_assert_float_eq(dsr->params.mean, 27030, 1e-9);
    cr_assert_str_eq(dsr->label, "dsr", "one option set: the label is the method");
    cr_assert_str_eq(gs.g[0].method, "dense");
    cr_assert_str_eq(gs.g[2].method, "static");
    cr_assert_eq(gs.g[2].epochs, 12);
    cr_assert_null(report_find_group(&gs, "lenet-300-100", "fashion-mnist", "dsr", 0.95, 0));
    cr_assert_float_eq(report_option("np=400;stop_epoch=3", "stop_epoch"), 3, 0);
    cr_assert(isnan(report_option("np=400", "stop_epoch")));
    report_groups_free(&gs);
    report_experiment_free(&e);
}

/* the experiment's CSV `name`, read into t */
static void read_table(const struct report_experiment *e, const char *name, struct csv_table *t)
{
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    cr_assert_eq(csv_table_read(path, t, err, sizeof err), 0, "%s", err);
}

/* in a fresh root: the budget experiment of budget_rows, its groups, and its
 * CSVs written (what they note in notes) */
static void budget_csvs_written(struct report_experiment *e, struct report_groups *gs,
                                struct text *notes)
{
    make_root();
    experiment("rq1_rq2_budget", budget_rows, BUDGET_ROWS, e, gs);
    *notes = (struct text){0};
    cr_assert_eq(report_write_csvs(e, gs, notes), 0);
}

Test(report, aggregate_csv_holds_the_group_summaries)
{
    struct report_experiment e;
    struct report_groups gs;
    struct text notes;
    budget_csvs_written(&e, &gs, &notes);
    cr_assert_not_null(strstr(notes.data, "dsr_seed1/epochs.csv"),
                       "a run without epochs.csv is noted: %s", notes.data);
    struct csv_table t;
    read_table(&e, "aggregate.csv", &t);
    cr_assert_eq(t.rows, 3);
    const char *expect[] = {"model", "lenet-300-100", "method", "dsr", "label", "dsr",
                            "sparsity", "0.9", "epochs", "6", "method_options", "np=400",
                            "runs", "4", "n", "3", "params_mean", "27030.0",
                            "acc_mean", "93.0000", "acc_std", "2.0000", "acc_median", "93.0000",
                            "acc_min", "91.0000", "acc_max", "95.0000", "paper_acc", ""};
    for (size_t i = 0; i < sizeof expect / sizeof *expect; i += 2) {
        const int c = csv_table_column(&t, expect[i]);
        cr_assert_geq(c, 0, "aggregate.csv has no column %s", expect[i]);
        cr_assert_str_eq(csv_table_cell(&t, 1, c), expect[i + 1], "%s", expect[i]);
    }
    csv_table_free(&t);
    /* no fixed-structure ablation, no frozen run, no layers.csv: those CSVs are absent */
    char path[600];
    snprintf(path, sizeof path, "%s/frozen.csv", e.dir);
    cr_assert_neq(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/ablations.csv", e.dir);
    cr_assert_neq(access(path, F_OK), 0);
    text_free(&notes);
    report_groups_free(&gs);
    report_experiment_free(&e);
}

Test(report, budget_findings_with_welch_intervals)
{
    make_root();
    struct report_experiment e;
    struct report_groups gs;
    experiment("rq1_rq2_budget", budget_rows, BUDGET_ROWS, &e, &gs);
    struct report_findings fs = {0};
    report_findings_budget(&gs, &fs);
    cr_assert_eq(fs.count, 2);
    /* both sides n = 3, std 2: se = sqrt(8/3), Welch df = 4, t = 2.776 */
    const double half = 2.776 * sqrt(8.0 / 3.0);
    const struct report_finding *rq1 = &fs.f[0], *rq2 = &fs.f[1];
    cr_assert_eq(rq1->question, 1);
    cr_assert_str_eq(rq1->subject, "dsr - dense");
    cr_assert_float_eq(rq1->diff, 1.0, 1e-9);
    cr_assert_float_eq(rq1->low, 1.0 - half, 1e-6);
    cr_assert_float_eq(rq1->high, 1.0 + half, 1e-6);
    cr_assert_str_eq(report_verdict(rq1),
                     "inconclusive: the interval reaches past 1 point below dense");
    cr_assert_eq(rq2->question, 2);
    cr_assert_float_eq(rq2->diff, 11.0, 1e-9);
    char line[512];
    report_finding_line(rq2, line, sizeof line);
    cr_assert_str_eq(line, "lenet-300-100 s=0.9: dsr - static = +11.00 points, 95% CI [+6.47, "
                           "+15.53] (3 vs 3 seeds): supported: DSR is higher");
    report_findings_free(&fs);
    report_groups_free(&gs);
    report_experiment_free(&e);
}

Test(report, verdicts_at_their_boundaries)
{
    struct report_finding f = {.claim = CLAIM_NEAR, .na = 3, .nb = 3, .diff = -0.5, .low = -1.0,
                               .high = 0.2, .paper = NAN};
    cr_assert_str_eq(report_verdict(&f), "supported: within 1 point of dense or above");
    f.low = -3;
    f.high = -1.01;
    cr_assert_str_eq(report_verdict(&f), "not supported: more than 1 point below dense");
    f.claim = CLAIM_HIGHER;
    cr_assert_str_eq(report_verdict(&f), "not supported: DSR is lower");
    f.high = 0;
    cr_assert_str_eq(report_verdict(&f), "inconclusive: the interval includes 0");
    f.low = f.high = NAN;
    cr_assert_str_eq(report_verdict(&f), "no interval: fewer than 2 seeds on a side");
    f.nb = 0;
    f.diff = NAN;
    cr_assert_str_eq(report_verdict(&f), "not measured: no complete runs on one side");
    char line[512];
    snprintf(f.model, sizeof f.model, "m");
    snprintf(f.subject, sizeof f.subject, "dsr - set");
    f.sparsity = 0.9;
    report_finding_line(&f, line, sizeof line);
    cr_assert_str_eq(line, "m s=0.9: dsr - set = n/a (3 vs 0 seeds): not measured: no complete "
                           "runs on one side");
}

Test(report, ablation_findings_and_frozen_labels)
{
    make_root();
    static const char *const rows[] = {
        "d1,dsr,lenet-300-100,fashion-mnist,0.95,1,4,np=400,complete,70,1",
        "d2,dsr,lenet-300-100,fashion-mnist,0.95,2,4,np=400,complete,72,1",
        "d3,dsr,lenet-300-100,fashion-mnist,0.95,3,4,np=400,complete,74,1",
        "r1,reinit-fixed-structure,lenet-300-100,fashion-mnist,0.95,1,8,-,complete,75,1",
        "r2,reinit-fixed-structure,lenet-300-100,fashion-mnist,0.95,2,8,-,complete,77,1",
        "r3,reinit-fixed-structure,lenet-300-100,fashion-mnist,0.95,3,8,-,complete,79,1",
        "f11,frozen-after-N-epochs,lenet-300-100,fashion-mnist,0.95,1,4,np=400;stop_epoch=1,complete,60,1",
        "f12,frozen-after-N-epochs,lenet-300-100,fashion-mnist,0.95,2,4,np=400;stop_epoch=1,complete,62,1",
        "f13,frozen-after-N-epochs,lenet-300-100,fashion-mnist,0.95,3,4,np=400;stop_epoch=1,complete,64,1",
        "f21,frozen-after-N-epochs,lenet-300-100,fashion-mnist,0.95,1,4,np=400;stop_epoch=2,complete,72,1",
        "f22,frozen-after-N-epochs,lenet-300-100,fashion-mnist,0.95,2,4,np=400;stop_epoch=2,complete,74,1",
        "f23,frozen-after-N-epochs,lenet-300-100,fashion-mnist,0.95,3,4,np=400;stop_epoch=2,complete,76,1",
        "g11,frozen-after-N-epochs,lenet-300-100,fashion-mnist,0.99,1,4,np=400;stop_epoch=1,complete,50,1",
    };
    struct report_experiment e;
    struct report_groups gs;
    experiment("rq3_ablations", rows, sizeof rows / sizeof *rows, &e, &gs);
    const struct report_group *f1 = &gs.g[2];
    cr_assert_str_eq(f1->label, "frozen-after-N-epochs[stop_epoch=1]");
    cr_assert_str_eq(gs.g[3].label, "frozen-after-N-epochs[stop_epoch=2]");
    struct report_findings fs = {0};
    report_findings_ablations(&gs, &fs);
    cr_assert_eq(fs.count, 4);
    const double half = 2.776 * sqrt(8.0 / 3.0);
    cr_assert_str_eq(fs.f[0].subject, "dsr - reinit-fixed-structure");
    cr_assert_float_eq(fs.f[0].diff, -5, 1e-9);
    cr_assert_float_eq(fs.f[0].high, -5 + half, 1e-6);
    cr_assert_str_eq(report_verdict(&fs.f[0]), "not supported: DSR is lower");
    cr_assert_str_eq(fs.f[1].subject, "dsr - frozen-after-N-epochs[stop_epoch=1]");
    cr_assert_float_eq(fs.f[1].diff, 10, 1e-9);
    cr_assert_str_eq(report_verdict(&fs.f[1]), "supported: DSR is higher");
    cr_assert_str_eq(report_verdict(&fs.f[2]), "inconclusive: the interval includes 0");
    cr_assert_str_eq(fs.f[3].subject, "dsr (4 epochs) - frozen-after-N-epochs[stop_epoch=1]");
    cr_assert_eq(fs.f[3].na, 0);
    cr_assert_str_eq(report_verdict(&fs.f[3]), "not measured: no complete runs on one side");
    /* frozen.csv: ordered by sparsity and stop epoch, full DSR beside */
    struct text notes = {0};
    cr_assert_eq(report_write_csvs(&e, &gs, &notes), 0);
    struct csv_table t;
    read_table(&e, "frozen.csv", &t);
    cr_assert_eq(t.rows, 3);
    cr_assert_str_eq(csv_table_cell(&t, 1, csv_table_column(&t, "stop_epoch")), "2");
    cr_assert_str_eq(csv_table_cell(&t, 1, csv_table_column(&t, "acc_mean")), "74.0000");
    cr_assert_str_eq(csv_table_cell(&t, 1, csv_table_column(&t, "dsr_acc_mean")), "72.0000");
    cr_assert_str_eq(csv_table_cell(&t, 2, csv_table_column(&t, "dsr_n")), "0");
    csv_table_free(&t);
    read_table(&e, "ablations.csv", &t);
    cr_assert_eq(t.rows, 2, "dsr and reinit (frozen runs are not among its methods)");
    csv_table_free(&t);
    text_free(&notes);
    report_findings_free(&fs);
    report_groups_free(&gs);
    report_experiment_free(&e);
}

Test(report, paper_numbers_stand_beside_ours)
{
    make_root();
    static const char *const rows[] = {
        "d1,dsr,wrn-28-2,cifar10,0.9,1,200,-,complete,93.5,161229",
        "d2,dsr,wrn-28-2,cifar10,0.9,2,200,-,complete,93.7,161229",
        "s1,static,wrn-28-2,cifar10,0.9,1,400,-,complete,92.0,161229",
        "s2,static,wrn-28-2,cifar10,0.9,2,400,-,complete,92.2,161229",
    };
    struct report_experiment e;
    struct report_groups gs;
    experiment("rq1_rq2_budget", rows, 4, &e, &gs);
    cr_assert_float_eq(report_paper_accuracy("wrn-28-2", "cifar10", "dsr", 0.9), 93.63, 1e-9);
    cr_assert_float_eq(report_paper_accuracy("wrn-28-2", "cifar10", "dense", 0), 94.70, 1e-9);
    cr_assert(isnan(report_paper_accuracy("wrn-28-2", "cifar10", "hashednet", 0.9)));
    cr_assert(isnan(report_paper_accuracy("lenet-300-100", "fashion-mnist", "dsr", 0.9)));
    struct report_findings fs = {0};
    report_findings_budget(&gs, &fs);
    cr_assert_eq(fs.count, 2, "RQ1 without dense, and dsr - static");
    cr_assert_str_eq(report_verdict(&fs.f[0]), "not measured: no complete runs on one side");
    cr_assert_float_eq(fs.f[1].paper, 93.63 - 92.11, 1e-9);
    char line[512];
    report_finding_line(&fs.f[1], line, sizeof line);
    cr_assert(strstr(line, "; paper: +1.52"), "%s", line);
    report_findings_free(&fs);
    report_groups_free(&gs);
    report_experiment_free(&e);
}

/* a DSR experiment whose runs have layers.csv and epochs.csv: three layers
 * in two blocks, sparser the larger and deeper, in every run */
static void layer_experiment(struct report_experiment *e, struct report_groups *gs)
{
    static const char *const rows[] = {
        "w1,dsr,wrn-x,fashion-mnist,0.85,1,2,-,complete,61,100",
        "w2,dsr,wrn-x,fashion-mnist,0.85,2,2,-,complete,62,100",
        "w3,dsr,wrn-x,fashion-mnist,0.85,3,2,-,complete,63,100",
    };
    experiment("rq4_layers", rows, 3, e, gs);
    for (int r = 1; r <= 3; r++) {
        char dir[600], path[700], text[1024];
        snprintf(dir, sizeof dir, "%s/w%d", e->dir, r);
        cr_assert_eq(mkdir(dir, 0777), 0);
        snprintf(path, sizeof path, "%s/layers.csv", dir);
        write_text(path, "epoch,layer,total,active\n"
                         "0,a.0.c1.weight,100,15\n0,a.0.c2.weight,200,30\n0,b.0.c1.weight,400,60\n"
                         "1,a.0.c1.weight,100,20\n1,a.0.c2.weight,200,30\n1,b.0.c1.weight,400,40\n");
        snprintf(path, sizeof path, "%s/epochs.csv", dir);
        snprintf(text, sizeof text,
                 "epoch,test_acc,train_loss,H,pruned,grown,reallocations\n"
                 "0,%d,1.5,%g,%d,%d,4\n1,%d,1.0,%g,%d,%d,4\n",
                 50 + r, 0.001 * r, 100 * r, 100 * r, 60 + r, 0.002 * r, 10 * r, 10 * r);
        write_text(path, text);
    }
}

Test(report, layer_sparsity_blocks_and_rq4_correlations)
{
    make_root();
    struct report_experiment e;
    struct report_groups gs;
    layer_experiment(&e, &gs);
    struct report_layers l;
    char err[512];
    cr_assert_eq(report_layers_read(&e, &gs.g[0], &l, err, sizeof err), 0, "%s", err);
    cr_assert_eq(l.layers, 3);
    cr_assert_eq(l.epochs, 2);
    cr_assert_str_eq(l.names[2], "b.0.c1.weight");
    cr_assert_float_eq(report_layer_sparsity(&l, 1, 1, 0), 0.8, 1e-12);
    cr_assert_float_eq(report_layer_sparsity(&l, 1, 0, 2), 0.85, 1e-12);
    cr_assert_eq(l.blocks, 2);
    cr_assert_str_eq(l.block_names[0], "a.0");
    cr_assert_eq(l.block_of[1], 0);
    cr_assert_float_eq(report_block_sparsity(&l, 0, 1, 0), 1 - 50.0 / 300, 1e-12);
    struct report_findings fs = {0};
    report_findings_layers(&l, &fs);
    cr_assert_eq(fs.count, 2);
    cr_assert_str_eq(fs.f[0].subject, "rho(tensor size, final sparsity)");
    cr_assert_float_eq(fs.f[0].diff, 1, 1e-12);
    cr_assert_float_eq(fs.f[0].low, 1, 1e-12, "the same rho in every run: no spread");
    cr_assert_eq(fs.f[0].na, 3);
    cr_assert_str_eq(report_verdict(&fs.f[1]), "supported: positive correlation");
    char line[512];
    report_finding_line(&fs.f[1], line, sizeof line);
    cr_assert_str_eq(line, "wrn-x s=0.85: rho(depth, final sparsity) = +1.00, 95% CI [+1.00, "
                           "+1.00] (3 seeds): supported: positive correlation");
    report_findings_free(&fs);
    report_layers_free(&l);
    report_groups_free(&gs);
    report_experiment_free(&e);
}

/* the value of column col in the first row whose column key equals value */
static const char *cell_where(const struct csv_table *t, const char *key, const char *value,
                              const char *col)
{
    for (int r = 0; r < t->rows; r++)
        if (strcmp(csv_table_cell(t, r, csv_table_column(t, key)), value) == 0)
            return csv_table_cell(t, r, csv_table_column(t, col));
    return "(no such row)";
}

Test(report, layer_curve_and_dynamics_csvs)
{
    make_root();
    struct report_experiment e;
    struct report_groups gs;
    layer_experiment(&e, &gs);
    struct text notes = {0};
    cr_assert_eq(report_write_csvs(&e, &gs, &notes), 0);
    cr_assert_eq(notes.len, 0, "%s", notes.data);
    struct csv_table t;
    read_table(&e, "layers_final.csv", &t);
    cr_assert_eq(t.rows, 3);
    cr_assert_str_eq(cell_where(&t, "layer", "b.0.c1.weight", "layer_sparsity_mean"), "0.900000");
    cr_assert_str_eq(cell_where(&t, "layer", "b.0.c1.weight", "depth"), "2");
    cr_assert_str_eq(cell_where(&t, "layer", "b.0.c1.weight", "series"), "s=0.85");
    csv_table_free(&t);
    read_table(&e, "blocks_final.csv", &t);
    cr_assert_eq(t.rows, 2);
    cr_assert_str_eq(cell_where(&t, "block", "a.0", "block_sparsity_mean"), "0.833333");
    cr_assert_str_eq(cell_where(&t, "block", "a.0", "total"), "300");
    csv_table_free(&t);
    read_table(&e, "layers_over_time.csv", &t);
    cr_assert_eq(t.rows, 6);
    /* one layer's epochs follow each other, so a figure draws it as one line */
    cr_assert_str_eq(csv_table_cell(&t, 1, csv_table_column(&t, "layer")), "a.0.c1.weight");
    cr_assert_str_eq(csv_table_cell(&t, 1, csv_table_column(&t, "epoch")), "1");
    csv_table_free(&t);
    read_table(&e, "curves.csv", &t);
    cr_assert_eq(t.rows, 2);
    cr_assert_str_eq(cell_where(&t, "epoch", "1", "test_acc_mean"), "62.0000");
    cr_assert_str_eq(cell_where(&t, "epoch", "1", "test_acc_std"), "1.0000");
    cr_assert_str_eq(cell_where(&t, "epoch", "1", "n"), "3");
    csv_table_free(&t);
    read_table(&e, "dynamics.csv", &t);
    cr_assert_str_eq(cell_where(&t, "epoch", "0", "H_mean"), "0.002");
    cr_assert_str_eq(cell_where(&t, "epoch", "0", "pruned_mean"), "200.00");
    cr_assert_str_eq(cell_where(&t, "epoch", "1", "reallocations_mean"), "4.00");
    csv_table_free(&t);
    text_free(&notes);
    report_groups_free(&gs);
    report_experiment_free(&e);
}

Test(report, figure_plan_from_the_csvs)
{
    struct report_experiment e;
    struct report_groups gs;
    struct text notes;
    budget_csvs_written(&e, &gs, &notes);
    struct report_figures fs;
    report_figures_plan(&e, &gs, &fs);
    cr_assert_eq(fs.count, 1, "no epochs.csv: no curves, only accuracy vs parameters");
    cr_assert_str_eq(fs.f[0].script, "accuracy_vs_params.gp");
    cr_assert_str_eq(fs.f[0].vars, "data='aggregate.csv'; models='lenet-300-100'; "
                                   "all='dsr static'; labels1='dsr static'; "
                                   "dense='92.0000'; out='accuracy_vs_params'");
    cr_assert_eq(report_figures_write(&e, &fs), 0);
    report_figures_free(&fs);
    struct report_experiment l;
    struct report_groups lg;
    layer_experiment(&l, &lg);
    cr_assert_eq(report_write_csvs(&l, &lg, &notes), 0);
    report_figures_plan(&l, &lg, &fs);
    const char *names[] = {"layers_final_wrn-x", "blocks_final_wrn-x", "layers_over_time_wrn-x",
                           "dsr_dynamics_wrn-x"};
    cr_assert_eq(fs.count, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(fs.f[i].name, names[i]);
    cr_assert(strstr(fs.f[1].vars, "units='a.0 b.0'"), "%s", fs.f[1].vars);
    report_figures_free(&fs);
    text_free(&notes);
    report_groups_free(&lg);
    report_experiment_free(&l);
    report_groups_free(&gs);
    report_experiment_free(&e);
}

Test(report, markdown_states_findings_and_what_is_missing)
{
    struct report_experiment e;
    struct report_groups gs;
    struct text notes;
    budget_csvs_written(&e, &gs, &notes);
    struct report_figures fs;
    report_figures_plan(&e, &gs, &fs);
    struct report r = {.root = root, .results = "RES", .profile = "smoke", .experiments = &e,
                       .groups = &gs, .figures = &fs, .count = 1, .notes = notes};
    char path[600];
    snprintf(path, sizeof path, "%s/REPORT.md", root);
    cr_assert_eq(report_write_markdown(&r, path), 0);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char md[65536];
    md[fread(md, 1, sizeof md - 1, f)] = '\0';
    fclose(f);
    const char *expect[] = {
        "# dsrbench results: profile `smoke`",
        "## How these results were made",
        "- Code version: report made by dsrbench `",
        "- Runs: 9 of 10 complete; training time summed over the runs (their `wall_seconds`): "
        "94 s (1 min 34 s).",
        "| RQ2 | DSR beats every other method at the same sparsity | `rq1_rq2_budget` | 1 | 0 | "
        "0 |",
        "| RQ3 | DSR beats its retrained structure, static, and reallocation stopped early | not "
        "run |",
        "## RQ1 and RQ2: accuracy under a parameter budget",
        "| lenet-300-100 | 0.9 | dsr | 6 | 27030 | 3 of 4 | 93.00 | 93.00 ± 2.00 |",
        "| lenet-300-100 | 0.9 | dsr - static | +11.00 | [+6.47, +15.53] | 3 vs 3 | supported: "
        "DSR is higher |",
        "Figure `rq1_rq2_budget/accuracy_vs_params.png`",
        "is not drawn yet: run `make figures PROFILE=smoke RESULTS=RES`",
        "**Not run**: there is no `rq3_ablations/summary.csv` here.",
        "**Not run**: there is no `rq4_layers/summary.csv` here.",
        "## Notes",
    };
    for (size_t i = 0; i < sizeof expect / sizeof *expect; i++)
        cr_assert(strstr(md, expect[i]), "REPORT.md lacks: %s\n---\n%s", expect[i], md);
    report_figures_free(&fs);
    text_free(&r.notes);
    report_groups_free(&gs);
    report_experiment_free(&e);
}
