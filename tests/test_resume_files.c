/* What --resume reads back besides the checkpoint's tensors: the saved
 * options (flags_save / flags_restore) and the results tables, cut to the
 * epochs the checkpoint holds (csv_table_truncate). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flags.h"
#include "results_io.h"

struct options {
    int epochs, nesterov;
    uint64_t seed;
    double lr;
    const char *model, *data_dir, *out;
    struct flag_list extra;
};

/* a flag table over o, as a command builds one */
static void table(struct flag *f, struct options *o)
{
    const struct flag flags[] = {
        {"epochs", FLAG_INT, &o->epochs, 1, 100, "N", "", 0},
        {"nesterov", FLAG_BOOL, &o->nesterov, 0, 0, "", "", 0},
        {"seed", FLAG_SEED, &o->seed, 0, 0, "S", "", 0},
        {"lr", FLAG_DOUBLE, &o->lr, 1e-9, 10, "X", "", 0},
        {"model", FLAG_STRING, &o->model, 0, 0, "M", "", 0},
        {"data-dir", FLAG_STRING, &o->data_dir, 0, 0, "DIR", "", 0},
        {"extra", FLAG_STRING_LIST, &o->extra, 0, 0, "K=V", "", 0},
        {"out", FLAG_STRING, &o->out, 0, 0, "DIR", "", 0},
    };
    memcpy(f, flags, sizeof flags);
}
enum { N_FLAGS = 8 };

static const struct options defaults = {.epochs = 10, .nesterov = 1, .seed = 1, .lr = 0,
                                        .model = "lenet-300-100"};
static const char *const skip[] = {"out", NULL};

static int parse(struct flag *f, int argc, char **argv)
{
    return flags_parse(f, N_FLAGS, argc, argv, 0, "test", "");
}

Test(saved_options, restore_gives_back_every_value_of_every_type)
{
    struct options a = defaults, b = defaults;
    struct flag fa[N_FLAGS], fb[N_FLAGS];
    table(fa, &a);
    table(fb, &b);
    char *argv[] = {"--epochs", "3", "--no-nesterov", "--seed", "18446744073709551615",
                    "--lr", "0.1", "--model", "wrn-16-1.5", "--extra", "np=5", "--extra",
                    "a = b"};
    cr_assert_eq(parse(fa, 13, argv), 0);
    char *text = flags_save(fa, N_FLAGS, skip, "test");
    cr_assert_not_null(text);
    cr_expect_null(strstr(text, "data-dir"), "an unset string is saved: %s", text);
    cr_expect_null(strstr(text, "out ="), "a skipped flag is saved: %s", text);
    cr_assert_eq(flags_restore(fb, N_FLAGS, skip, text, "test", "run"), 0);
    cr_expect_eq(b.epochs, 3);
    cr_expect_eq(b.nesterov, 0);
    cr_expect_eq(b.seed, UINT64_MAX);
    cr_expect_eq(b.lr, 0.1, "0.1 came back as %.17g", b.lr);
    cr_expect_str_eq(b.model, "wrn-16-1.5");
    cr_expect_null(b.data_dir);
    cr_assert_eq(b.extra.count, 2);
    cr_expect_str_eq(b.extra.items[0], "np=5");
    cr_expect_str_eq(b.extra.items[1], "a = b");
    /* saving the restored flags gives the same text */
    char *again = flags_save(fb, N_FLAGS, skip, "test");
    char *first = flags_save(fa, N_FLAGS, skip, "test");
    cr_expect_str_eq(again, first);
    free(again);
    free(first);
    free(text);
}

Test(saved_options, a_default_outside_the_range_a_user_may_give_comes_back)
{
    struct options a = defaults, b = defaults;
    b.lr = 5;
    struct flag fa[N_FLAGS], fb[N_FLAGS];
    table(fa, &a);
    table(fb, &b);
    char *text = flags_save(fa, N_FLAGS, skip, "test");
    cr_assert_eq(flags_restore(fb, N_FLAGS, skip, text, "test", "run"), 0);
    cr_expect_eq(b.lr, 0.0);
    free(text);
}

Test(saved_options, a_given_flag_must_equal_the_saved_one)
{
    struct options a = defaults;
    struct flag fa[N_FLAGS];
    table(fa, &a);
    char *argv[] = {"--epochs", "3", "--extra", "np=5"};
    cr_assert_eq(parse(fa, 4, argv), 0);
    char *saved = flags_save(fa, N_FLAGS, skip, "test");

    struct options same = defaults;
    struct flag fs[N_FLAGS];
    table(fs, &same);
    char *same_argv[] = {"--epochs", "3", "--extra", "np=5", "--out", "elsewhere"};
    cr_assert_eq(parse(fs, 6, same_argv), 0);
    char *text = strdup(saved);
    cr_expect_eq(flags_restore(fs, N_FLAGS, skip, text, "test", "run"), 0);
    free(text);

    static char *refused[][2] = {{"--epochs", "4"}, {"--extra", "np=6"}, {"--data-dir", "/d"},
                                 {"--nesterov", NULL}};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct options o = defaults;
        struct flag f[N_FLAGS];
        table(f, &o);
        cr_assert_eq(parse(f, refused[i][1] ? 2 : 1, refused[i]), 0);
        /* --nesterov equals the saved 1 and is accepted; the others differ */
        const int want = strcmp(refused[i][0], "--nesterov") == 0 ? 0 : -1;
        text = strdup(saved);
        cr_expect_eq(flags_restore(f, N_FLAGS, skip, text, "test", "run"), want, "%s",
                     refused[i][0]);
        free(text);
    }
    free(saved);
}

Test(saved_options, a_value_with_a_line_break_is_not_saved)
{
    struct options a = defaults;
    a.model = "lenet\nepochs = 99";
    struct flag fa[N_FLAGS];
    table(fa, &a);
    cr_expect_null(flags_save(fa, N_FLAGS, skip, "test"));
}

Test(csv_read, a_table_read_back_is_cut_to_the_rows_a_resume_keeps)
{
    char path[] = "/tmp/dsrbench-csv-XXXXXX";
    const int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    const char *header[] = {"epoch", "note"};
    struct csv_table t, back;
    csv_table_init(&t, header, 2);
    const char *rows[3][2] = {{"0", "plain"}, {"1", "a, \"quoted\" cell"}, {"2", ""}};
    for (int i = 0; i < 3; i++)
        csv_table_add_row(&t, rows[i]);
    cr_assert_eq(csv_table_write(&t, path), 0);
    char err[256];
    cr_assert_eq(csv_table_read(path, &back, err, sizeof err), 0, "%s", err);
    cr_assert_eq(back.rows, 3);
    csv_table_truncate(&back, 2);
    cr_assert_eq(back.rows, 2);
    const char *row[2] = {"2", "again"};
    csv_table_add_row(&back, row);
    cr_assert_eq(csv_table_write(&back, path), 0);
    csv_table_free(&back);
    cr_assert_eq(csv_table_read(path, &back, err, sizeof err), 0, "%s", err);
    cr_assert_eq(back.rows, 3);
    cr_expect_str_eq(csv_table_cell(&back, 1, 1), rows[1][1]);
    cr_expect_str_eq(csv_table_cell(&back, 2, 1), "again");
    csv_table_free(&back);
    csv_table_free(&t);
    unlink(path);
}
