/* The loaders of one or more files, CIFAR-10's binary batches and the
 * engine's shards: they append files exactly and refuse each kind of damage
 * with a message naming the file and the fault. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data_files.h"
#include "test_images.h"

TestSuite(data_files, .init = data_make_temp_dir, .fini = data_remove_temp_dir);

/* ---- CIFAR-10 ---- */

Test(data_files, cifar_appends_files_exactly)
{
    write_cifar(temp_path("a.bin"), 3, 0);
    write_cifar(temp_path("b.bin"), 4, 3);
    expect_appended(cifar10_load, "a.bin", "b.bin", 7, 3, 32, 32, 10);
}

static void cut_last_byte(struct bytes *b)
{
    b->len -= 1;
}

static void cut_everything(struct bytes *b)
{
    b->len = 0;
}

static void set_third_label_to_ten(struct bytes *b)
{
    b->data[2 * 3073] = 10;
}

/* a CIFAR-10 file of `records` records, edited, is refused saying hint */
static void expect_edited_cifar_refused(int records, void (*edit)(struct bytes *), const char *hint)
{
    write_cifar(temp_path("x.bin"), records, 0);
    struct dataset d;
    expect_refused(load_edited(cifar10_load, "x.bin", edit, &d), &d, "x.bin", hint);
}

Test(data_files, cifar_size_not_multiple_of_record_refused)
{
    expect_edited_cifar_refused(2, cut_last_byte, "not a multiple of the 3073");
}

Test(data_files, cifar_empty_file_refused)
{
    expect_edited_cifar_refused(1, cut_everything, "empty file");
}

Test(data_files, cifar_label_out_of_range_refused)
{
    expect_edited_cifar_refused(3, set_third_label_to_ten, "label 10 at index 2 is outside 0..9");
}

Test(data_files, cifar_missing_file_refused)
{
    struct dataset d;
    expect_refused(load_one(cifar10_load, "data_batch_9.bin", &d), &d, "data_batch_9.bin",
                   "cannot open");
}

/* ---- shards ---- */

Test(data_files, shards_round_trip_appends_files)
{
    write_shard(temp_path("train-0.shard"), 5, 3, 6, 7, 1000, 0);
    write_shard(temp_path("train-1.shard"), 2, 3, 6, 7, 1000, 5);
    cr_assert_eq(access(temp_path("train-0.shard.tmp"), F_OK), -1, "temp file left behind");
    expect_appended(shards_load, "train-0.shard", "train-1.shard", 7, 3, 6, 7, 1000);
}

Test(data_files, shards_file_layout_is_documented_one)
{
    write_shard(temp_path("s.shard"), 2, 1, 2, 3, 10, 0);
    struct bytes b = read_plain(temp_path("s.shard"));
    cr_assert_eq(b.len, 36 + 2 * (4 + 6));
    cr_assert_eq(memcmp(b.data, "DSRSHRD1", 8), 0);
    const uint32_t header[] = {1, 2, 1, 2, 3, 10};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(get_le32(b.data + 8 + 4 * i), header[i], "header field %d", i);
    cr_assert_eq(get_le32(b.data + 32), test_label(0, 10));
    cr_assert_eq(b.data[36], test_pixel(0, 0));
    uint32_t crc = (uint32_t)crc32(0L, b.data, (uInt)(b.len - 4));
    cr_assert_eq(get_le32(b.data + b.len - 4), crc);
    free(b.data);
}

/* keeps the trailing checksum right after an edit */
static void reseal(struct bytes *b)
{
    uint32_t crc = (uint32_t)crc32(0L, b->data, (uInt)(b->len - 4));
    for (int i = 0; i < 4; i++)
        b->data[b->len - 4 + i] = (unsigned char)(crc >> (8 * i));
}

/* Criterion hands parameters to another process: plain data, no pointers */
enum shard_damage_kind { FLIP_PIXEL, CUT_RECORD, ADD_BYTE, BREAK_MAGIC, BUMP_VERSION, BAD_LABEL };
struct shard_damage {
    enum shard_damage_kind kind;
    char hint[48];
};

/* edits the bytes of a shard of 3 records of 2x4x4 (36 bytes each) */
static void damage_shard(enum shard_damage_kind kind, struct bytes *b)
{
    switch (kind) {
    case FLIP_PIXEL:
        b->data[32 + 4 + 5] ^= 1;
        break;
    case CUT_RECORD:
        b->len -= 20;
        break;
    case ADD_BYTE:
        put_byte(b, 0);
        break;
    case BREAK_MAGIC:
        b->data[7] = '2';
        break;
    case BUMP_VERSION:
        b->data[8] = 2;
        reseal(b);
        break;
    case BAD_LABEL:
        b->data[32 + 36] = 11;
        reseal(b);
        break;
    }
}

ParameterizedTestParameters(data_files, shards_damage_refused)
{
    static struct shard_damage damages[] = {
        {FLIP_PIXEL, "checksum mismatch"}, {CUT_RECORD, "truncated"},
        {ADD_BYTE, "trailing bytes"},      {BREAK_MAGIC, "bad magic"},
        {BUMP_VERSION, "version 2"},       {BAD_LABEL, "label 11 at index 1 is outside 0..9"},
    };
    return cr_make_param_array(struct shard_damage, damages, sizeof damages / sizeof damages[0]);
}

ParameterizedTest(struct shard_damage *damage, data_files, shards_damage_refused)
{
    write_shard(temp_path("bad.shard"), 3, 2, 4, 4, 10, 0);
    struct bytes b = read_plain(temp_path("bad.shard"));
    damage_shard(damage->kind, &b);
    write_plain(temp_path("bad.shard"), &b);
    free(b.data);
    struct dataset d;
    expect_refused(load_one(shards_load, "bad.shard", &d), &d, "bad.shard", damage->hint);
}

Test(data_files, shards_shape_mismatch_between_files_refused)
{
    write_shard(temp_path("a.shard"), 2, 3, 8, 8, 10, 0);
    write_shard(temp_path("b.shard"), 2, 3, 8, 9, 10, 0);
    const char *paths[] = {temp_path("a.shard"), temp_path("b.shard")};
    struct dataset d;
    expect_refused(shards_load(paths, 2, &d, data_err, sizeof data_err), &d, "b.shard",
                   "shape mismatch");
}

Test(data_files, shards_write_refuses_label_out_of_range)
{
    struct dataset d = test_dataset(2, 1, 2, 2, 10, 0);
    d.labels[1] = 10;
    cr_assert_eq(shards_write(temp_path("w.shard"), &d, data_err, sizeof data_err), -1);
    cr_assert_not_null(strstr(data_err, "label 10 at index 1"), "%s", data_err);
    cr_assert_eq(access(temp_path("w.shard"), F_OK), -1);
    dataset_free(&d);
}
