/* Named data sets: the loader finds the files of each kind in its folder (or
 * $DSRBENCH_DATA) and explains missing ones; the real Fashion-MNIST loads. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_files.h"
#include "test_images.h"

TestSuite(data_named, .init = data_make_temp_dir, .fini = data_remove_temp_dir);

Test(data_named, kind_names_round_trip)
{
    const char *names[] = {"fashion-mnist", "mnist", "cifar10", "imagenet-shards"};
    for (int i = 0; i < 4; i++) {
        enum data_kind kind;
        cr_assert_eq(data_kind_parse(names[i], &kind), 0, "%s", names[i]);
        cr_assert_str_eq(data_kind_name(kind), names[i]);
    }
    enum data_kind kind;
    cr_assert_eq(data_kind_parse("cifar100", &kind), -1);
    cr_assert_str_eq(data_default_dir(DATA_FASHION_MNIST), FASHION_DIR);
    cr_assert_str_eq(data_default_dir(DATA_CIFAR10), "data/cifar-10-batches-bin");
    cr_assert_str_eq(data_default_dir(DATA_IMAGENET_SHARDS), "data/imagenet-shards");
}

Test(data_named, named_cifar10_missing_file_says_how_to_get_it)
{
    write_cifar(temp_path("data_batch_1.bin"), 1, 0);
    struct dataset train, test;
    int rc =
        dataset_load_named(DATA_CIFAR10, data_temp_dir, &train, &test, data_err, sizeof data_err);
    expect_refused(rc, &train, "data_batch_2.bin", "make data-cifar10");
    cr_assert_not_null(strstr(data_err, "--data-dir"), "%s", data_err);
}

Test(data_named, named_fashion_mnist_missing_names_debian_package)
{
    struct dataset train, test;
    int rc = dataset_load_named(DATA_FASHION_MNIST, data_temp_dir, &train, &test, data_err,
                                sizeof data_err);
    expect_refused(rc, &train, "train-images-idx3-ubyte.gz", "dataset-fashion-mnist");
}

/* both splits of the named data set hold the test contents, from image 0 on */
static void expect_named_contents(enum data_kind kind, const char *dir, int train_count,
                                  int test_count, int c, int h, int w, int classes)
{
    struct dataset train, test;
    cr_assert_eq(dataset_load_named(kind, dir, &train, &test, data_err, sizeof data_err), 0, "%s",
                 data_err);
    expect_contents(&train, train_count, c, h, w, classes, 0);
    expect_contents(&test, test_count, c, h, w, classes, 0);
    dataset_free(&train);
    dataset_free(&test);
}

Test(data_named, named_reads_environment_folder_and_plain_or_gzip_idx)
{
    write_idx_pair(6, 0, temp_path("train-images-idx3-ubyte"),
                   temp_path("train-labels-idx1-ubyte"));
    write_idx_pair(4, 1, temp_path("t10k-images-idx3-ubyte.gz"),
                   temp_path("t10k-labels-idx1-ubyte.gz"));
    cr_assert_eq(setenv("DSRBENCH_DATA", data_temp_dir, 1), 0);
    expect_named_contents(DATA_MNIST, NULL, 6, 4, 1, 5, 4, 10);
}

Test(data_named, named_imagenet_shards_in_sorted_order)
{
    write_shard(temp_path("train-001.shard"), 2, 3, 4, 5, 20, 3);
    write_shard(temp_path("train-000.shard"), 3, 3, 4, 5, 20, 0);
    write_shard(temp_path("val-000.shard"), 2, 3, 4, 5, 20, 0);
    expect_named_contents(DATA_IMAGENET_SHARDS, data_temp_dir, 5, 2, 3, 4, 5, 20);
}

Test(data_named, named_imagenet_shards_missing_split_refused)
{
    write_shard(temp_path("train-000.shard"), 2, 3, 4, 5, 20, 0);
    struct dataset train, test;
    int rc = dataset_load_named(DATA_IMAGENET_SHARDS, data_temp_dir, &train, &test, data_err,
                                sizeof data_err);
    expect_refused(rc, &train, "val-*.shard", "no files match");
}

Test(data_named, named_real_fashion_mnist_loads)
{
    if (access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0)
        cr_skip_test("%s is absent (Debian package dataset-fashion-mnist)", FASHION_DIR);
    struct dataset train, test;
    cr_assert_eq(dataset_load_named(DATA_FASHION_MNIST, FASHION_DIR, &train, &test, data_err,
                                    sizeof data_err),
                 0, "%s", data_err);
    cr_assert_eq(train.count, 60000);
    cr_assert_eq(test.count, 10000);
    cr_assert(train.c == 1 && train.h == 28 && train.w == 28 && train.classes == 10);
    int seen[10] = {0};
    for (int i = 0; i < train.count; i++) {
        cr_assert(train.labels[i] >= 0 && train.labels[i] < 10);
        seen[train.labels[i]]++;
    }
    for (int k = 0; k < 10; k++)
        cr_assert_eq(seen[k], 6000, "class %d has %d training images", k, seen[k]);
    dataset_free(&train);
    dataset_free(&test);
}
