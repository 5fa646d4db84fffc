/* A run's results files: epochs.csv and layers.csv (rewritten atomically after
 * every epoch) and manifest.ini; on a resume, the tables are read back and cut
 * to the epochs the checkpoint holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "manifest.h"
#include "method_setup.h"
#include "net_kernels.h"
#include "run.h"

static const char *const epoch_columns[] = {
    "run_id",    "method",     "model",     "data",          "sparsity",     "seed",
    "epoch",     "lr",         "train_loss", "train_acc",    "test_loss",    "test_acc",
    "active_params", "total_params",
};
/* the method's columns follow, then "method_seconds" and "seconds" */
enum { BASE_COLUMNS = sizeof epoch_columns / sizeof epoch_columns[0], TAIL_COLUMNS = 2,
       MAX_COLUMNS = BASE_COLUMNS + RUN_MAX_STATS + TAIL_COLUMNS };
_Static_assert((int)MAX_COLUMNS == (int)RUN_MAX_COLUMNS, "run.h sizes the epochs.csv header");
static const char *layer_columns[] = {"epoch", "layer", "total", "active"};

void run_path(const struct run *r, const char *file, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", r->o->out, file);
}

size_t run_active_params(const struct run *r)
{
    return method_run_learnable(&r->method_run);
}

/* appends one row per sparse tensor to layers.csv (RQ4: per-layer sparsity over time) */
static int write_layer_rows(struct run *r, int epoch)
{
    const struct sparse_store *store = &r->method_run.store;
    if (store->count == 0)
        return 0;
    if (r->layers.columns == 0)
        csv_table_init(&r->layers, layer_columns, 4);
    for (int t = 0; t < store->count; t++) {
        char e[16], total[24], active[24];
        snprintf(e, sizeof e, "%d", epoch);
        snprintf(total, sizeof total, "%zu", store->tensors[t].param->count);
        snprintf(active, sizeof active, "%zu", store->tensors[t].active);
        const char *row[4] = {e, store->tensors[t].param->name, total, active};
        csv_table_add_row(&r->layers, row);
    }
    char path[4200];
    run_path(r, "layers.csv", path, sizeof path);
    return csv_table_write(&r->layers, path);
}

/* the first epoch fixes the header; a resumed table must already have it */
static int use_header(struct run *r, const struct method_stat *stats, int n_stats)
{
    const char **header = r->epoch_header;
    const int columns = BASE_COLUMNS + n_stats + TAIL_COLUMNS;
    for (int i = 0; i < BASE_COLUMNS; i++)
        header[i] = epoch_columns[i];
    for (int i = 0; i < n_stats; i++)
        header[BASE_COLUMNS + i] = stats[i].name;
    header[BASE_COLUMNS + n_stats] = "method_seconds";
    header[BASE_COLUMNS + n_stats + 1] = "seconds";
    if (r->epochs.columns == 0) {
        csv_table_init(&r->epochs, header, columns);
        return 0;
    }
    int same = r->epochs.columns == columns;
    for (int i = 0; same && i < columns; i++)
        same = strcmp(r->epochs.header[i], header[i]) == 0;
    if (!same)
        fprintf(stderr,
                "dsrbench train: %s/epochs.csv has other columns than this run writes; it "
                "does not belong to this run\n",
                r->o->out);
    return same ? 0 : -1;
}

int run_record_epoch(struct run *r, const struct epoch_result *res)
{
    const struct method *m = r->method;
    struct method_stat stats[RUN_MAX_STATS];
    const int n_stats = m->stats ? m->stats(&r->method_run, stats, RUN_MAX_STATS) : 0;
    if (use_header(r, stats, n_stats) != 0)
        return 1;
    char cells[MAX_COLUMNS][32] = {{0}};
    const char *values[MAX_COLUMNS] = {r->run_id, m->name, r->model, r->o->data, r->sparsity};
    snprintf(cells[5], 32, "%llu", (unsigned long long)r->o->seed);
    snprintf(cells[6], 32, "%d", res->epoch);
    snprintf(cells[7], 32, "%.6g", res->lr);
    snprintf(cells[8], 32, "%.6f", res->train_loss);
    snprintf(cells[9], 32, "%.4f", res->train_acc);
    snprintf(cells[10], 32, "%.6f", res->test_loss);
    snprintf(cells[11], 32, "%.4f", res->test_acc);
    snprintf(cells[12], 32, "%zu", run_active_params(r));
    snprintf(cells[13], 32, "%zu", r->total_params);
    for (int i = 0; i < n_stats; i++)
        snprintf(cells[BASE_COLUMNS + i], 32, "%.9g", stats[i].value);
    snprintf(cells[BASE_COLUMNS + n_stats], 32, "%.4f", res->method_seconds);
    snprintf(cells[BASE_COLUMNS + n_stats + 1], 32, "%.3f", res->seconds);
    for (int i = 5; i < BASE_COLUMNS + n_stats + TAIL_COLUMNS; i++)
        values[i] = cells[i];
    csv_table_add_row(&r->epochs, values);
    progress_epoch(&r->progress, res, r->train.count);
    r->final_test_acc = res->test_acc;
    if (res->test_acc > r->best_test_acc)
        r->best_test_acc = res->test_acc;
    r->train_seconds += res->seconds;
    if (write_layer_rows(r, res->epoch) != 0)
        return 1;
    char path[4200];
    run_path(r, "epochs.csv", path, sizeof path);
    return csv_table_write(&r->epochs, path) != 0;
}

static void format_augment(const struct augment *a, char *out, size_t len)
{
    char crop[32] = "";
    if (a->crop_pad)
        snprintf(crop, sizeof crop, "%s-crop-pad-%d ", a->reflect_pad ? "reflect" : "zero",
                 a->crop_pad);
    snprintf(out, len, "%s%s%s", crop, a->hflip ? "flip " : "",
             a->random_resized_crop ? "random-resized-crop" : "");
    if (!out[0])
        snprintf(out, len, "none");
    else if (out[strlen(out) - 1] == ' ')
        out[strlen(out) - 1] = '\0';
}

int run_write_manifest(const struct run *r, const char *status)
{
    const struct train_options *o = r->o;
    const struct train_config *cfg = &r->cfg;
    const struct method_run *m = &r->method_run;
    char schedule[256], augment[64], path[4200];
    lr_schedule_format(&cfg->schedule, schedule, sizeof schedule);
    format_augment(&r->pipe.train_aug, augment, sizeof augment);
    struct text t = {0};
    text_printf(&t, "[run]\nrun_id = %s\ncommand = %s\nstatus = %s\n", r->run_id,
                o->command ? o->command : "", status);
    if (r->resumed_from >= 0)
        text_printf(&t, "resumed_from_epoch = %d\n", r->resumed_from);
    text_printf(&t, "method = %s\nsparsity = %s\nmodel = %s\ndata = %s\ndata_dir = %s\n",
                r->method->name, r->sparsity, r->model, o->data,
                o->data_dir ? o->data_dir : "(default)");
    for (int i = 0; i < r->method->n_options; i++)
        text_printf(&t, "method.%s = %g\n", r->method->options[i].name, m->option[i]);
    if (m->source)
        text_printf(&t, "from = %s\nfrom_method = %s\nfrom_seed = %llu\n", m->source->dir,
                    m->source->method, (unsigned long long)m->source->seed);
    text_printf(&t, "train_examples = %d\ntest_examples = %d\ninput = %dx%dx%d\nclasses = %d\n",
                r->train.count, r->test.count, r->train.c, r->pipe.out_h, r->pipe.out_w,
                r->train.classes);
    text_printf(&t, "seed = %llu\nepochs = %d\nbatch = %d\neval_batch = %d\n",
                (unsigned long long)o->seed, cfg->epochs, cfg->batch, cfg->eval_batch);
    text_printf(&t, "lr_schedule = %s\nmomentum = %g\nnesterov = %d\nweight_decay = %g\n",
                schedule, cfg->sgd.momentum, cfg->sgd.nesterov, cfg->sgd.weight_decay);
    text_printf(&t, "augment = %s\nthreads = %d\nkernels = %s\ntotal_params = %zu\n"
                    "active_params = %zu\n",
                augment, o->threads, net_kernels_name(o->kernels), r->total_params,
                run_active_params(r));
    if (strcmp(status, "running") != 0)
        text_printf(&t, "\n[result]\nfinal_test_acc = %.4f\nbest_test_acc = %.4f\n"
                        "wall_seconds = %.1f\n",
                    r->final_test_acc, r->best_test_acc, r->train_seconds);
    if (o->options_text)
        text_printf(&t, "\n[options]\n%s", o->options_text);
    manifest_build_section(&t);
    run_path(r, "manifest.ini", path, sizeof path);
    const int rc = write_file_atomic(path, t.data, t.len);
    text_free(&t);
    return rc;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* reads a table back and keeps its rows of epochs before next_epoch, which
 * must be rows_per_epoch per epoch, in epoch order */
static int restore_table(struct run *r, struct csv_table *t, const char *file, int next_epoch,
                         int rows_per_epoch)
{
    char path[4200], err[4400];
    run_path(r, file, path, sizeof path);
    if (!file_exists(path)) {
        if (next_epoch == 0)
            return 0;
        fprintf(stderr, "dsrbench train: %s is missing; the checkpoint %s is at epoch %d\n",
                path, r->o->resume->path, next_epoch);
        return -1;
    }
    if (csv_table_read(path, t, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench train: %s\n", err);
        return -1;
    }
    int column = csv_table_column(t, "epoch");
    int kept = 0;
    while (column >= 0 && kept < t->rows &&
           atoi(csv_table_cell(t, kept, column)) < next_epoch)
        kept++;
    for (int i = 0; column >= 0 && i < kept; i++)
        if (atoi(csv_table_cell(t, i, column)) != i / rows_per_epoch)
            column = -1;
    if (column < 0 || kept != next_epoch * rows_per_epoch) {
        fprintf(stderr,
                "dsrbench train: %s does not hold %d rows for each of epochs 0..%d that the "
                "checkpoint %s has done; it does not belong to this run\n",
                path, rows_per_epoch, next_epoch - 1, r->o->resume->path);
        return -1;
    }
    csv_table_truncate(t, kept);
    return csv_table_write(t, path);
}

int run_restore_results(struct run *r, int next_epoch)
{
    if (restore_table(r, &r->epochs, "epochs.csv", next_epoch, 1) != 0)
        return -1;
    if (r->method_run.store.count > 0 &&
        restore_table(r, &r->layers, "layers.csv", next_epoch, r->method_run.store.count) != 0)
        return -1;
    const int acc = csv_table_column(&r->epochs, "test_acc");
    const int seconds = csv_table_column(&r->epochs, "seconds");
    if (r->epochs.rows > 0 && (acc < 0 || seconds < 0)) {
        fprintf(stderr, "dsrbench train: %s/epochs.csv has no test_acc or seconds column\n",
                r->o->out);
        return -1;
    }
    /* a moved folder keeps the run id its rows already have */
    const int id = csv_table_column(&r->epochs, "run_id");
    if (r->epochs.rows > 0 && id >= 0)
        snprintf(r->run_id, sizeof r->run_id, "%s", csv_table_cell(&r->epochs, 0, id));
    for (int i = 0; i < r->epochs.rows; i++) {
        r->final_test_acc = atof(csv_table_cell(&r->epochs, i, acc));
        if (r->final_test_acc > r->best_test_acc)
            r->best_test_acc = r->final_test_acc;
        r->train_seconds += atof(csv_table_cell(&r->epochs, i, seconds));
    }
    return 0;
}
