/* Shared by the checkpoint reader (checkpoint.c) and its application to a net
 * (checkpoint_apply.c): every refusal names the file first. */
#ifndef DSRBENCH_CHECKPOINT_ERROR_H
#define DSRBENCH_CHECKPOINT_ERROR_H
#include <stddef.h>

/* writes "<path>: <fmt ...>" to err (err_len bytes) and returns -1 */
int checkpoint_error(char *err, size_t err_len, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
