/* Checkpoints: everything needed to continue a run exactly where it stopped
 * (llm.c's resume state plus masks and method state), and the weights other
 * runs start from (warm starts). The engine knows no method: a method's state
 * is an opaque blob stored under the method's name.
 *
 * File (little-endian): a 36-byte header, then one zlib stream.
 *   0  char[8] magic "DSRBCKPT"
 *   8  u32     format version (CHECKPOINT_VERSION)
 *  12  u64     payload bytes (uncompressed)
 *  20  u64     compressed bytes that follow the header
 *  28  u32     CRC-32 of the uncompressed payload
 *  32  u32     CRC-32 of header bytes 0..31
 * Payload: model, method, sparsity, config text, next epoch, iteration, the
 * data-order, augmentation and method RNG states, the method state; every
 * parameter (name, shape, values, momentum, mask when it has one); every
 * batch-norm running mean and variance. Strings are u32 length (with the NUL)
 * plus bytes.
 *
 * Writes go to "<path>.tmp", are fsynced and renamed over path, so a failed or
 * killed write never damages an existing checkpoint. Reading refuses, naming
 * the file, a bad magic, another format version, a damaged or truncated file;
 * applying refuses another model, other parameter names or shapes and, unless
 * the caller asks only for weights, another method or sparsity. Checkpoint I/O
 * allocates; nothing here runs inside the training step. */
#ifndef DSRBENCH_CHECKPOINT_H
#define DSRBENCH_CHECKPOINT_H
#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "rng.h"
#include "sparse.h"

#define CHECKPOINT_MAGIC "DSRBCKPT"
#define CHECKPOINT_VERSION 1u
#define CHECKPOINT_HEADER_BYTES 36

/* A run's state besides the net's tensors. On save the caller fills it; after
 * checkpoint_read the strings and method_state point into the checkpoint. */
struct checkpoint_meta {
    const char *model;  /* canonical model name, e.g. "wrn-28-2" */
    const char *method; /* the method's name; the engine only compares it */
    double sparsity;
    const char *config; /* the caller's description of the run (options, data); not interpreted */
    int next_epoch;     /* epochs finished */
    long iteration;     /* optimizer steps taken */
    struct rng order_stream, augment_stream, method_stream;
    const void *method_state;
    size_t method_state_size;
};

/* one parameter as stored; the arrays point into the payload and may be unaligned */
struct checkpoint_param {
    const char *name;
    int ndim, shape[4];
    size_t count;
    const unsigned char *value, *momentum; /* count floats each */
    const uint8_t *mask;                   /* NULL when the parameter had none */
};

struct checkpoint_buffer {
    const char *name; /* "<layer>.running_mean" or "<layer>.running_var" */
    size_t count;
    const unsigned char *data; /* count floats */
};

struct checkpoint {
    char path[1024];
    struct checkpoint_meta meta;
    int n_params, n_buffers;
    struct checkpoint_param *params;
    struct checkpoint_buffer *buffers;
    unsigned char *payload;
    size_t payload_size;
};

/* what checkpoint_apply copies into a net */
enum checkpoint_part {
    CHECKPOINT_VALUES = 1 << 0,
    CHECKPOINT_MOMENTUM = 1 << 1,
    CHECKPOINT_BN_STATS = 1 << 2, /* batch-norm running mean and variance */
    CHECKPOINT_MASKS = 1 << 3,
    CHECKPOINT_WEIGHTS = CHECKPOINT_VALUES | CHECKPOINT_MOMENTUM | CHECKPOINT_BN_STATS,
    CHECKPOINT_ALL = CHECKPOINT_WEIGHTS | CHECKPOINT_MASKS,
};

/* who may load a checkpoint: the model always, the method and sparsity for a
 * resume (method NULL: any method, for warm starts) */
struct checkpoint_identity {
    const char *model;
    const char *method;
    double sparsity;
};

/* 0, or -1 with "path: reason" in err; an existing file at path is untouched on failure */
int checkpoint_save(const char *path, const struct net *net, const struct checkpoint_meta *meta,
                    char *err, size_t err_len);
/* reads and verifies a whole checkpoint; 0, or -1 with "path: reason" in err
 * (then *c is empty). Free with checkpoint_free. */
int checkpoint_read(const char *path, struct checkpoint *c, char *err, size_t err_len);
void checkpoint_free(struct checkpoint *c);

/* Checks the identity and that the net has the same parameters (names, shapes,
 * order) and batch-norm buffers, then copies `parts` (enum checkpoint_part).
 * With CHECKPOINT_MASKS the masked parameters must match too, and store (the
 * net's sparse store, NULL when it has none) is recounted. Values are zeroed
 * where the net's masks are off, so the store's invariant holds. Nothing is
 * copied when a check fails: -1 with "path: reason" in err. */
int checkpoint_apply(const struct checkpoint *c, struct net *net, struct sparse_store *store,
                     const struct checkpoint_identity *id, unsigned parts, char *err,
                     size_t err_len);
/* warm start: read + apply (any method) + free */
int checkpoint_load_into(const char *path, struct net *net, struct sparse_store *store,
                         const char *model, unsigned parts, char *err, size_t err_len);

/* a parameter by name, or NULL; its mask is NULL when it had none */
const struct checkpoint_param *checkpoint_find_param(const struct checkpoint *c,
                                                     const char *name);

#endif
