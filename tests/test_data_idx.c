/* The IDX loader (MNIST, Fashion-MNIST) reads small files written here exactly,
 * plain or gzip, and refuses each kind of damage with a message naming the
 * file and the fault. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "data_files.h"
#include "test_images.h"

TestSuite(data_idx, .init = data_make_temp_dir, .fini = data_remove_temp_dir);

static int load_idx_files(const char *images, const char *labels, struct dataset *d)
{
    return idx_load(temp_path(images), temp_path(labels), d, data_err, sizeof data_err);
}

/* an IDX pair of 23 images written plain or gzip loads back exactly */
static void expect_idx_round_trip(int gz, const char *images, const char *labels)
{
    write_idx_pair(23, gz, temp_path(images), temp_path(labels));
    struct dataset d;
    cr_assert_eq(load_idx_files(images, labels, &d), 0, "%s", data_err);
    expect_contents(&d, 23, 1, 5, 4, 10, 0);
    dataset_free(&d);
}

Test(data_idx, idx_plain_reads_exactly)
{
    expect_idx_round_trip(0, "im", "lb");
}

Test(data_idx, idx_gzip_reads_exactly)
{
    expect_idx_round_trip(1, "im.gz", "lb.gz");
}

/* writes the image file as given (plain) with good labels, and loads the pair */
static int load_with_images(struct bytes *im, int count, struct dataset *d)
{
    struct bytes lb = idx_labels((uint32_t)count);
    write_plain(temp_path("images.idx"), im);
    write_plain(temp_path("labels.idx"), &lb);
    free(im->data);
    free(lb.data);
    return load_idx_files("images.idx", "labels.idx", d);
}

Test(data_idx, idx_bad_magic_refused)
{
    struct bytes im = idx_images(3, 5, 4);
    im.data[3] = 0x01; /* a labels magic on an images file */
    struct dataset d;
    expect_refused(load_with_images(&im, 3, &d), &d, "images.idx", "bad magic");
}

Test(data_idx, idx_truncated_refused)
{
    struct bytes im = idx_images(3, 5, 4);
    im.len -= 7;
    struct dataset d;
    expect_refused(load_with_images(&im, 3, &d), &d, "images.idx", "truncated");
}

Test(data_idx, idx_trailing_bytes_refused)
{
    struct bytes im = idx_images(3, 5, 4);
    put_byte(&im, 0);
    struct dataset d;
    expect_refused(load_with_images(&im, 3, &d), &d, "images.idx", "trailing");
}

Test(data_idx, idx_label_out_of_range_refused)
{
    write_idx_pair(8, 1, temp_path("im.gz"), temp_path("train-labels-idx1-ubyte.gz"));
    struct bytes lb = idx_labels(8);
    lb.data[8 + 5] = 12;
    write_gzip(temp_path("train-labels-idx1-ubyte.gz"), &lb);
    free(lb.data);
    struct dataset d;
    expect_refused(load_idx_files("im.gz", "train-labels-idx1-ubyte.gz", &d), &d,
                   "train-labels-idx1-ubyte.gz", "label 12 at index 5 is outside 0..9");
}

Test(data_idx, idx_count_mismatch_refused)
{
    struct bytes im = idx_images(4, 5, 4), lb = idx_labels(3);
    write_plain(temp_path("images.idx"), &im);
    write_plain(temp_path("labels.idx"), &lb);
    free(im.data);
    free(lb.data);
    struct dataset d;
    expect_refused(load_idx_files("images.idx", "labels.idx", &d), &d, "labels.idx",
                   "holds 4 images but");
}

/* a gzip IDX image file of enough images that its middle is deflate data */
static struct bytes gzip_image_file(void)
{
    write_idx_pair(60, 1, temp_path("images.gz"), temp_path("labels.gz"));
    return read_plain(temp_path("images.gz"));
}

/* writes the edited gzip image file back and loads it with its labels */
static int load_edited_gzip(struct bytes *gz, struct dataset *d)
{
    write_plain(temp_path("images.gz"), gz);
    free(gz->data);
    return load_idx_files("images.gz", "labels.gz", d);
}

Test(data_idx, idx_gzip_with_flipped_bytes_refused)
{
    struct bytes gz = gzip_image_file();
    for (size_t i = gz.len / 2; i < gz.len / 2 + 8; i++)
        gz.data[i] ^= 0x5a;
    struct dataset d;
    expect_refused(load_edited_gzip(&gz, &d), &d, "images.gz", "gzip");
}

Test(data_idx, idx_gzip_cut_short_refused)
{
    struct bytes gz = gzip_image_file();
    gz.len = gz.len * 2 / 3;
    struct dataset d;
    expect_refused(load_edited_gzip(&gz, &d), &d, "images.gz", "gzip");
}

Test(data_idx, idx_missing_file_refused)
{
    write_idx_pair(3, 0, temp_path("im"), temp_path("lb"));
    struct dataset d;
    expect_refused(load_idx_files("im", "absent-labels", &d), &d, "absent-labels", "cannot open");
}
