/* A masked weight tensor's active positions in compressed sparse row form,
 * for the sparse kernels (sparse_kernels.h). A convolution's weight
 * [out][in][k][k] has one row per output channel, entries (input channel,
 * tap = ky*k + kx); a linear layer's [out][in] is the same with one tap.
 * The transpose lists the same entries per input channel, for the input
 * gradient. Entries keep their position in the dense value array, and the
 * kernels read the weights through it: the values change every step, the
 * structure only when a method changes the mask, and a gather into a packed
 * array each step measured the same on convolutions and 0.02 ms faster on
 * LeNet-300-100's first layer at 0.98 (README, Performance). */
#ifndef DSRBENCH_SPARSE_WEIGHTS_H
#define DSRBENCH_SPARSE_WEIGHTS_H
#include <stddef.h>
#include <stdint.h>

struct sparse_weights {
    int rows, in, taps; /* out channels, in channels (features), k*k (1 for linear) */
    size_t nnz;
    /* per output channel o: entries row_start[o] .. row_start[o+1]-1 */
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
 * slot_tasks weight-gradient slots; 0, or -1 when out of memory */
int sparse_weights_build(struct sparse_weights *sw, const uint8_t *mask, int rows, int in,
                         int taps, int slot_tasks);
void sparse_weights_free(struct sparse_weights *sw);
/* sw's scratch of at least `floats` floats, all zero when it is new or was
 * last used with another layout (the kernels rely on zero padding they never
 * write); NULL when out of memory */
float *sparse_weights_scratch(struct sparse_weights *sw, size_t floats, long layout);

#endif
