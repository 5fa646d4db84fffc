/* Whether a data set is where `dsrbench train` will look for it, checked by
 * the runner before the first run starts, so a grid does not fail one run at
 * a time for want of data. */
#ifndef DSRBENCH_DATA_CHECK_H
#define DSRBENCH_DATA_CHECK_H
#include <stddef.h>

/* 0 when the named data set loads (or, for imagenet-shards, when both splits
 * have shard files); -1 with the loader's message, which says how to get the
 * data, in err. */
int data_check(const char *name, char *err, size_t err_len);

#endif
