/* Experiment specs: INI reading with line numbers, grid expansion (cross
 * products, key precedence, run ids, commands, source runs and their order),
 * spec errors naming file, line and key, and the committed specs of
 * experiments/specs, which must expand in every profile. */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "spec.h"

/* methods that land in methods/ later, as the committed specs name them;
 * a registry method of the same name takes precedence */
static const struct method fake_methods[] = {
    {.name = "set", .summary = "", .sparse = 1},
    {.name = "deepr", .summary = "", .sparse = 1},
    {.name = "hashednet", .summary = "", .sparse = 1},
    {.name = "thin-dense", .summary = "", .sparse = 1},
    {.name = "compressed", .summary = "", .sparse = 1},
};

static const struct method *find_method(const char *name)
{
    const struct method *m = method_find(name);
    for (size_t i = 0; !m && i < sizeof fake_methods / sizeof fake_methods[0]; i++)
        if (strcmp(fake_methods[i].name, name) == 0)
            m = &fake_methods[i];
    return m;
}

static int find_ablation(const char *name)
{
    return strcmp(name, "reinit-fixed-structure") == 0 ||
           strcmp(name, "original-init-fixed-structure") == 0;
}

static const struct spec_catalog catalog = {
    .method = find_method, .ablation = find_ablation,
    .methods_known = "dense static dsr set deepr hashednet thin-dense compressed",
    .ablations_known = "reinit-fixed-structure original-init-fixed-structure"};

static char err[2048];

static int build_with(const char *text, const char *profile, int threads, struct plan *p)
{
    struct spec_file f;
    err[0] = '\0';
    if (spec_read_string("t.ini", text, &f, err, sizeof err) != 0)
        return -1;
    const struct plan_options o = {.profile = profile, .results = "res", .program = "dsrbench",
                                   .threads = threads};
    const int rc = plan_build(&f, &catalog, &o, p, err, sizeof err);
    spec_free(&f);
    return rc;
}

static void build_ok(const char *text, const char *profile, struct plan *p)
{
    cr_assert_eq(build_with(text, profile, 0, p), 0, "unexpected error: %s", err);
}

static void expect_error(const char *text, const char *profile, const char *message)
{
    struct plan p;
    cr_assert_neq(build_with(text, profile, 0, &p), 0, "no error, expected '%s'", message);
    cr_assert(strstr(err, message), "error '%s' does not contain '%s'", err, message);
}

/* the words of a run's command joined by spaces */
static const char *command(const struct plan_run *r)
{
    static char line[4096];
    line[0] = '\0';
    for (int i = 0; i < r->argc; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", i ? " " : "",
                 r->argv[i]);
    return line;
}

static const struct plan_run *run_named(const struct plan *p, const char *id)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->runs[i].id, id) == 0)
            return &p->runs[i];
    cr_assert_fail("no run %s", id);
    return NULL;
}

static const char base[] = "[experiment]\n"        /* 1 */
                           "name = budget\n"       /* 2 */
                           "\n"                    /* 3 */
                           "[smoke]\n"             /* 4 */
                           "data = fashion-mnist\n" /* 5 */
                           "seeds = 1 2\n"         /* 6 */
                           "epochs = 3\n"          /* 7 */
                           "[smoke.lenet]\n"       /* 8 */
                           "models = lenet-300-100\n" /* 9 */
                           "methods = dense static dsr\n" /* 10 */
                           "sparsities = 0.9, 0.95\n" /* 11 */
                           "static.epochs = 6\n";  /* 12 */

/* base with one more line (line 13) */
static const char *base_plus(const char *line)
{
    static char text[2048];
    snprintf(text, sizeof text, "%s%s\n", base, line);
    return text;
}

Test(spec, items_keep_their_lines_sections_and_continuations)
{
    struct spec_file f;
    const char *text = "; a comment\n"
                       "# another\n"
                       "[ smoke ]\n"
                       "methods = dense static ; inline comment\n"
                       "   dsr\n"
                       "\n"
                       "  set\n"
                       "[smoke.g]\n"
                       "epochs = 2\n";
    cr_assert_eq(spec_read_string("x.ini", text, &f, err, sizeof err), 0, "%s", err);
    cr_assert_eq(f.count, 2);
    cr_assert_str_eq(f.items[0].section, "smoke");
    cr_assert_str_eq(f.items[0].value, "dense static dsr set");
    cr_assert_eq(f.items[0].line, 4);
    cr_assert_eq(spec_find(&f, "smoke.g", "epochs")->line, 9);
    cr_assert_eq(spec_section_line(&f, "smoke.g"), 8);
    cr_assert_eq(spec_section_line(&f, "smoke"), 3);
    spec_free(&f);
}

Test(spec, read_errors_name_the_line)
{
    struct spec_file f;
    cr_assert_neq(spec_read_string("x.ini", "[a]\nk = 1\nk = 2\n", &f, err, sizeof err), 0);
    cr_assert_str_eq(err, "x.ini:3: k is given twice in [a] (first on line 2)");
    cr_assert_neq(spec_read_string("x.ini", "[a]\nk = 1\njust words\n", &f, err, sizeof err), 0);
    cr_assert(strstr(err, "x.ini:3: expected KEY = VALUE"), "%s", err);
    char long_text[600];
    snprintf(long_text, sizeof long_text, "[a]\nk = 1\nlist = %0400d\n", 7);
    cr_assert_neq(spec_read_string("x.ini", long_text, &f, err, sizeof err), 0);
    cr_assert(strstr(err, "x.ini:3: line longer than"), "%s", err);
    cr_assert_neq(spec_read("/nonexistent/x.ini", &f, err, sizeof err), 0);
    cr_assert(strstr(err, "/nonexistent/x.ini: cannot open"), "%s", err);
}

Test(plan, grid_expands_methods_sparsities_and_seeds_seed_major)
{
    struct plan p;
    build_ok(base, "smoke", &p);
    /* dense: one run per seed; static and dsr: 2 sparsities x 2 seeds */
    cr_assert_eq(p.count, 10);
    cr_assert_str_eq(p.experiment, "budget");
    cr_assert_str_eq(p.dir, "res/smoke/budget");
    static const char *const ids[] = {
        "lenet-300-100_dense_seed1",        "lenet-300-100_static_s0.9_seed1",
        "lenet-300-100_static_s0.95_seed1", "lenet-300-100_dsr_s0.9_seed1",
        "lenet-300-100_dsr_s0.95_seed1",    "lenet-300-100_dense_seed2",
        "lenet-300-100_static_s0.9_seed2",  "lenet-300-100_static_s0.95_seed2",
        "lenet-300-100_dsr_s0.9_seed2",     "lenet-300-100_dsr_s0.95_seed2",
    };
    for (int i = 0; i < p.count; i++) {
        cr_assert_str_eq(p.runs[i].id, ids[i], "run %d", i);
        cr_assert_eq(p.runs[i].source, -1);
        cr_assert_eq(p.runs[i].threads, 1);
    }
    cr_assert_str_eq(p.runs[0].sparsity, "");
    cr_assert_str_eq(p.runs[2].sparsity, "0.95");
    plan_free(&p);
}

Test(plan, commands_are_exact)
{
    struct plan p;
    build_ok(base_plus("dsr.option.np = 500\n"
                       "train_subset = 1000\n"
                       "lr_schedule = 0.1,0.01@2\n"),
             "smoke", &p);
    cr_assert_str_eq(command(run_named(&p, "lenet-300-100_dsr_s0.9_np500_seed2")),
                     "dsrbench train --model lenet-300-100 --data fashion-mnist --method dsr "
                     "--sparsity 0.9 --method-option np=500 --seed 2 --epochs 3 "
                     "--lr-schedule 0.1,0.01@2 --train-subset 1000 --threads 1 "
                     "--out res/smoke/budget/lenet-300-100_dsr_s0.9_np500_seed2");
    cr_assert_str_eq(command(run_named(&p, "lenet-300-100_dense_seed1")),
                     "dsrbench train --model lenet-300-100 --data fashion-mnist --method dense "
                     "--seed 1 --epochs 3 --lr-schedule 0.1,0.01@2 --train-subset 1000 "
                     "--threads 1 --out res/smoke/budget/lenet-300-100_dense_seed1");
    plan_free(&p);
}

Test(plan, method_key_wins_over_grid_which_wins_over_profile)
{
    struct plan p;
    build_ok("[smoke]\ndata = fashion-mnist\nseeds = 1\nepochs = 3\nthreads = 2\n"
             "[smoke.a]\nmodels = lenet-300-100\nmethods = static dsr\nsparsities = 0.9\n"
             "epochs = 4\nstatic.epochs = 8\nstatic.threads = 1\n"
             "[smoke.b]\nmodels = lenet-5\nmethods = static\nsparsities = 0.9\n",
             "smoke", &p);
    cr_assert_eq(run_named(&p, "lenet-300-100_static_s0.9_seed1")->epochs, 8);
    cr_assert_eq(run_named(&p, "lenet-300-100_dsr_s0.9_seed1")->epochs, 4);
    cr_assert_eq(run_named(&p, "lenet-5_static_s0.9_seed1")->epochs, 3);
    cr_assert_eq(run_named(&p, "lenet-300-100_static_s0.9_seed1")->threads, 1);
    cr_assert_eq(run_named(&p, "lenet-300-100_dsr_s0.9_seed1")->threads, 2);
    plan_free(&p);
    /* --threads replaces the spec's threads everywhere */
    cr_assert_eq(build_with("[smoke]\ndata = mnist\nseeds = 1\nepochs = 1\nthreads = 2\n"
                            "[smoke.a]\nmodels = lenet-5\nmethods = dense\n",
                            "smoke", 3, &p),
                 0, "%s", err);
    cr_assert_eq(p.runs[0].threads, 3);
    cr_assert(strstr(command(&p.runs[0]), "--threads 3 --out"));
    plan_free(&p);
}

Test(plan, option_lists_make_one_run_per_combination)
{
    struct plan p;
    build_ok(base_plus("dsr.option.stop_epoch = 1 2 3\n"
                       "dsr.option.np = 100 200\n"),
             "smoke", &p);
    /* dense 2 + static 4 + dsr 2 sparsities x 3 x 2 options x 2 seeds */
    cr_assert_eq(p.count, 2 + 4 + 24);
    const struct plan_run *r = run_named(&p, "lenet-300-100_dsr_s0.95_stop_epoch3_np200_seed2");
    cr_assert_str_eq(r->options, "stop_epoch=3;np=200");
    cr_assert(strstr(command(r), "--method-option stop_epoch=3 --method-option np=200 --seed 2"));
    plan_free(&p);
}

static const char ablation_spec[] =
    "[default]\n"
    "data = fashion-mnist\n"
    "seeds = 1 2\n"
    "epochs = 2\n"
    "[default.rq3]\n"
    "models = lenet-300-100\n"
    "ablations = reinit-fixed-structure\n" /* listed before its source */
    "methods = dsr static compressed dense\n"
    "sparsities = 0.9 0.8\n"
    "reinit-fixed-structure.from = dsr\n"
    "reinit-fixed-structure.epochs = 4\n"
    "compressed.from = dense\n";

Test(plan, readers_come_after_their_sources_and_name_their_folders)
{
    struct plan p;
    build_ok(ablation_spec, "default", &p);
    for (int i = 0; i < p.count; i++) {
        const struct plan_run *r = &p.runs[i];
        if (strcmp(r->entry, "reinit-fixed-structure") == 0) {
            cr_assert_geq(r->source, 0, "%s has no source", r->id);
            const struct plan_run *s = &p.runs[r->source];
            cr_assert_lt(r->source, i, "%s runs before its source", r->id);
            cr_assert_str_eq(s->entry, "dsr");
            cr_assert_str_eq(s->sparsity, r->sparsity);
            cr_assert_eq(s->seed, r->seed);
            cr_assert(r->ablation);
            char want[512];
            snprintf(want, sizeof want,
                     "dsrbench train --model lenet-300-100 --data fashion-mnist --ablation "
                     "reinit-fixed-structure --seed %llu --epochs 4 --from %s --threads 1 "
                     "--out %s",
                     r->seed, s->dir, r->dir);
            cr_assert_str_eq(command(r), want);
        } else if (strcmp(r->entry, "compressed") == 0) {
            /* a dense source has no sparsity: every compressed run reads the seed's dense run */
            cr_assert_geq(r->source, 0);
            cr_assert_str_eq(p.runs[r->source].entry, "dense");
            cr_assert_eq(p.runs[r->source].seed, r->seed);
            cr_assert_lt(r->source, i);
        } else {
            cr_assert_eq(r->source, -1);
        }
    }
    /* seed 1 (with its readers) before seed 2 */
    cr_assert_eq(p.runs[0].seed, 1);
    cr_assert_eq(p.runs[p.count - 1].seed, 2);
    /* 2 reinit + 2 dsr + 2 static + 2 compressed per seed, + 1 dense */
    cr_assert_eq(p.count, 2 * 9);
    plan_free(&p);
}

Test(plan, spec_errors_name_file_line_and_key)
{
    expect_error(base_plus("methods = dense magic\n"), "smoke",
                 "t.ini:13: methods is given twice in [smoke.lenet] (first on line 10)");
    char text[2048];
    snprintf(text, sizeof text, "%s", base);
    char *m = strstr(text, "static dsr");
    memcpy(m, "statik dsr", 10);
    expect_error(text, "smoke",
                 "t.ini:10: methods: unknown method 'statik' (known: dense static dsr set deepr "
                 "hashednet thin-dense compressed)");
    expect_error(base_plus("ablations = reinit\n"), "smoke",
                 "t.ini:13: ablations: unknown ablation 'reinit'");
    expect_error(base_plus("dsr.sparsities = 0.5 1.0\n"), "smoke",
                 "t.ini:13: dsr.sparsities: '1.0': expected a sparsity in [0, 1)");
    expect_error(base_plus("dsr.sparsities = -0.1\n"), "smoke",
                 "t.ini:13: dsr.sparsities: '-0.1': expected a sparsity in [0, 1)");
    expect_error(base_plus("batch = 10x\n"), "smoke",
                 "t.ini:13: batch: '10x': expected a whole number from 1 to 65536");
    expect_error(base_plus("lr = fast\n"), "smoke", "t.ini:13: lr: 'fast': expected a number");
    expect_error(base_plus("epoch = 3\n"), "smoke", "t.ini:13: epoch: unknown key 'epoch'");
    expect_error(base_plus("set.epochs = 3\n"), "smoke",
                 "t.ini:13: set.epochs: 'set' is not among the methods or ablations of "
                 "[smoke.lenet]");
    expect_error(base_plus("dsr.option.bogus = 3\n"), "smoke",
                 "t.ini:13: dsr.option.bogus: method dsr has no option 'bogus' (its options: np");
    expect_error(base_plus("dsr.option.np = -3\n"), "smoke",
                 "t.ini:13: dsr.option.np: '-3': expected a value from 0 to");
    expect_error(base_plus("static.option.np = 3\n"), "smoke",
                 "t.ini:13: static.option.np: method static has no option 'np' (it takes none)");
    expect_error(base_plus("dense.sparsities = 0.5\n"), "smoke",
                 "t.ini:13: dense.sparsities: method dense takes no sparsity");
    expect_error(base_plus("dsr.models = lenet-5\n"), "smoke",
                 "t.ini:13: dsr.models: not allowed in [smoke.lenet]");
    expect_error(base_plus("from = dsr\n"), "smoke", "t.ini:13: from: not allowed in [smoke.lenet]");
    expect_error(base_plus("seeds = 1 2 1\n"), "smoke", "t.ini:13: seeds: '1' is listed twice");
    expect_error(base_plus("augment = rotate\n"), "smoke",
                 "t.ini:13: augment: 'rotate': expected default, none, flip, crop or crop-flip");
    expect_error(base_plus("lr_schedule = 0.1,0.01@x\n"), "smoke", "t.ini:13: lr_schedule: ");
    expect_error(base_plus("[smoke.x]\nmodels = vgg-16\nmethods = dense\n"), "smoke",
                 "t.ini:14: models: unknown model");
    expect_error(base_plus("data = svhn\n"), "smoke", "t.ini:13: data: 'svhn': expected");
    expect_error(base_plus("[smoke.a.b]\n"), "smoke", "t.ini:13: [smoke.a.b]: expected");
    expect_error("epochs = 3\n[smoke]\n", "smoke", "t.ini:1: epochs: outside any section");
    expect_error(base, "paper", "t.ini: profile 'paper' has no grids (sections [paper.NAME]); "
                                "profiles here: smoke");
    expect_error("[smoke]\nseeds = 1\n[smoke.g]\nmodels = lenet-5\ndata = mnist\nmethods = dense\n",
                 "smoke", "t.ini:3: epochs: missing in [smoke.g]");
    expect_error(base_plus("[smoke.again]\nmodels = lenet-300-100\nmethods = dense\n"), "smoke",
                 "t.ini:13: [smoke.again] repeats run lenet-300-100_dense_seed1 of [smoke.lenet]");
}

Test(plan, source_errors_name_the_from_line)
{
    char text[2048];
    /* missing source run: reinit reads dsr at 0.9, dsr only runs 0.8 */
    snprintf(text, sizeof text, "%sdsr.sparsities = 0.8\n", ablation_spec);
    expect_error(text, "default",
                 "t.ini:10: reinit-fixed-structure.from: dsr has no run with model "
                 "lenet-300-100, seed 1 and sparsity 0.9 for "
                 "lenet-300-100_reinit-fixed-structure_s0.9_seed1 to read");
    /* ambiguous: several dsr runs per model, seed and sparsity */
    snprintf(text, sizeof text, "%sdsr.option.stop_epoch = 1 2\n", ablation_spec);
    expect_error(text, "default",
                 "t.ini:10: reinit-fixed-structure.from: dsr has 2 runs with model "
                 "lenet-300-100, seed 1 and sparsity 0.9 (one per option value)");
    snprintf(text, sizeof text, "%sstatic.from = set\n", ablation_spec);
    expect_error(text, "default",
                 "t.ini:13: static.from: 'set' is not among the methods or ablations of "
                 "[default.rq3]");
    snprintf(text, sizeof text, "%sdsr.from = reinit-fixed-structure\n", ablation_spec);
    expect_error(text, "default", "runs cannot read each other in a cycle");
    snprintf(text, sizeof text, "%sreinit-fixed-structure.option.np = 5\n", ablation_spec);
    expect_error(text, "default",
                 "t.ini:13: reinit-fixed-structure.option.np: reinit-fixed-structure is an "
                 "ablation; options belong to methods");
}

/* the committed specs: every profile expands with every method name known */
static int profile_count(const char *path, const char *profile, struct plan *p)
{
    struct spec_file f;
    cr_assert_eq(spec_read(path, &f, err, sizeof err), 0, "%s", err);
    const struct plan_options o = {.profile = profile, .results = "results",
                                   .program = "dsrbench"};
    const int rc = plan_build(&f, &catalog, &o, p, err, sizeof err);
    spec_free(&f);
    cr_assert_eq(rc, 0, "%s --profile %s: %s", path, profile, err);
    return p->count;
}

static int distinct_seeds(const struct plan *p, const struct plan_run *like)
{
    int n = 0;
    for (int i = 0; i < p->count; i++) {
        const struct plan_run *r = &p->runs[i];
        n += strcmp(r->grid, like->grid) == 0 && strcmp(r->entry, like->entry) == 0 &&
             strcmp(r->model, like->model) == 0 && strcmp(r->sparsity, like->sparsity) == 0 &&
             strcmp(r->options, like->options) == 0;
    }
    return n;
}

Test(plan, committed_specs_expand_in_every_profile)
{
    glob_t found;
    cr_assert_eq(glob("experiments/specs/*.ini", 0, NULL, &found), 0,
                 "no specs in experiments/specs (run the tests from the repository root)");
    cr_assert_geq(found.gl_pathc, 3);
    for (size_t s = 0; s < found.gl_pathc; s++) {
        const char *path = found.gl_pathv[s];
        struct plan p;
        cr_assert_gt(profile_count(path, "smoke", &p), 0);
        for (int i = 0; i < p.count; i++) {
            cr_assert_str_eq(p.runs[i].data, "fashion-mnist", "%s smoke", path);
            cr_assert_leq(p.runs[i].epochs, 2, "%s smoke: %s", path, p.runs[i].id);
            cr_assert(strstr(command(&p.runs[i]), "--train-subset"), "%s smoke: %s", path,
                      p.runs[i].id);
        }
        plan_free(&p);
        cr_assert_gt(profile_count(path, "default", &p), 0);
        for (int i = 0; i < p.count; i++) {
            cr_assert_str_eq(p.runs[i].data, "fashion-mnist", "%s default", path);
            cr_assert_geq(distinct_seeds(&p, &p.runs[i]), 3, "%s default: %s", path,
                          p.runs[i].id);
        }
        plan_free(&p);
        cr_assert_gt(profile_count(path, "paper", &p), 0);
        for (int i = 0; i < p.count; i++) {
            const struct plan_run *r = &p.runs[i];
            const int wrn = strcmp(r->model, "wrn-28-2") == 0 && strcmp(r->data, "cifar10") == 0;
            const int resnet = strcmp(r->model, "resnet-50") == 0 &&
                               strcmp(r->data, "imagenet-shards") == 0;
            cr_assert(wrn || resnet, "%s paper: %s", path, r->id);
            cr_assert_eq(distinct_seeds(&p, r), 5, "%s paper: %s", path, r->id);
        }
        plan_free(&p);
    }
    globfree(&found);
}
