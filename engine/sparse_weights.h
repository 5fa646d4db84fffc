/* A masked weight tensor's active positions in compressed sparse row form,
 * for the sparse kernels (sparse_kernels.h). A convolution's weight
 * [out][in][k][k] has one row per output channel, entries (input channel,
 * tap = ky*k + kx); a linear layer's [out][in] is the same with one tap.
 * The transpose lists the same entries per input channel, for the input
 * gradient. The kernels read weights and write gradients through an entry's
 * pos: its index in the arrays they are given. Built for a dense array that
 * is the entry's position in the tensor; built `compact` (the weight's
 * COMPACT storage, param_storage.h, whose entries are the active positions in
 * ascending order, which is row order) row_pos[e] = e and col_pos is the
 * entry's row index, so the same kernels run on either storage. */
#ifndef DSRBENCH_SPARSE_WEIGHTS_H
#define DSRBENCH_SPARSE_WEIGHTS_H
#include <stddef.h>
#include <stdint.h>

struct sparse_weights {
    int rows, in, taps; /* out channels, in channels (features), k*k (1 for linear) */
    size_t nnz;
    /* per output channel o: entries row_start[o] .. row_start[o+1]-1; pos:
     * the entry's index in the weight and gradient arrays */
    int32_t *row_start, *row_in, *row_tap, *row_pos;
    /* per input channel c: entries col_start[c] .. col_start[c+1]-1 */
    int32_t *col_start, *col_out, *col_tap, *col_pos;
    /* weight-gradient partial sums of the convolution: slot_tasks x nnz */
    float *slots;
    int slot_tasks;
    /* the convolution kernels' padded planes (sparse_weights_scratch) */
    float *scratch;
    size_t scratch_floats;
    long scratch_layout;
    unsigned long mask_version; /* the param's mask_version this was built from */
};

/* (Re)builds sw from mask[rows x in x taps] (1 = active), with room for
 * slot_tasks weight-gradient slots, entries addressing a dense array or,
 * when compact, the active entries only; 0, or -1 when out of memory */
int sparse_weights_build(struct sparse_weights *sw, const uint8_t *mask, int rows, int in,
                         int taps, int slot_tasks, int compact);
void sparse_weights_free(struct sparse_weights *sw);
/* sw's scratch of at least `floats` floats, all zero when it is new or was
 * last used with another layout (the kernels rely on zero padding they never
 * write); NULL when out of memory */
float *sparse_weights_scratch(struct sparse_weights *sw, size_t floats, long layout);

#endif
