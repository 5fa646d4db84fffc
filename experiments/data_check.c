#include "data_check.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>

#include "dataset.h"

/* ImageNet shards are far too big to load for a check: their files must exist */
static int shards_present(const char *dir, char *err, size_t err_len)
{
    static const char *const splits[] = {"train", "val"};
    for (int i = 0; i < 2; i++) {
        char pattern[4200];
        snprintf(pattern, sizeof pattern, "%s/%s-*.shard", dir, splits[i]);
        glob_t found;
        const int rc = glob(pattern, 0, NULL, &found);
        globfree(&found);
        if (rc != 0) {
            snprintf(err, err_len,
                     "%s: no files match; write ImageNet shards there (README, shard format) "
                     "or set DSRBENCH_DATA",
                     pattern);
            return -1;
        }
    }
    return 0;
}

int data_check(const char *name, char *err, size_t err_len)
{
    enum data_kind kind;
    if (data_kind_parse(name, &kind) != 0) {
        snprintf(err, err_len, "unknown data set '%s'", name);
        return -1;
    }
    if (kind == DATA_IMAGENET_SHARDS) {
        const char *env = getenv("DSRBENCH_DATA");
        return shards_present(env && env[0] ? env : data_default_dir(kind), err, err_len);
    }
    struct dataset train = {0}, test = {0};
    const int rc = dataset_load_named(kind, NULL, &train, &test, err, err_len);
    dataset_free(&train);
    dataset_free(&test);
    return rc;
}
