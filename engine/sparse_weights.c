#include "sparse_weights.h"

#include <stdlib.h>
#include <string.h>

void sparse_weights_free(struct sparse_weights *sw)
{
    free(sw->row_start);
    free(sw->row_in);
    free(sw->row_tap);
    free(sw->row_pos);
    free(sw->col_start);
    free(sw->col_out);
    free(sw->col_tap);
    free(sw->col_pos);
    free(sw->slots);
    free(sw->scratch);
    memset(sw, 0, sizeof *sw);
}

float *sparse_weights_scratch(struct sparse_weights *sw, size_t floats, long layout)
{
    if (floats > sw->scratch_floats) {
        free(sw->scratch);
        sw->scratch = calloc(floats, sizeof(float));
        sw->scratch_floats = sw->scratch ? floats : 0;
    } else if (layout != sw->scratch_layout) {
        memset(sw->scratch, 0, sizeof(float) * sw->scratch_floats);
    }
    sw->scratch_layout = layout;
    return sw->scratch;
}

static void *array(size_t n, size_t size)
{
    return malloc((n ? n : 1) * size);
}

int sparse_weights_build(struct sparse_weights *sw, const uint8_t *mask, int rows, int in,
                         int taps, int slot_tasks, int compact)
{
    sparse_weights_free(sw);
    const size_t count = (size_t)rows * in * taps;
    size_t nnz = 0;
    for (size_t i = 0; i < count; i++)
        nnz += mask[i] != 0;
    *sw = (struct sparse_weights){.rows = rows, .in = in, .taps = taps, .nnz = nnz,
                                  .slot_tasks = slot_tasks};
    sw->row_start = array((size_t)rows + 1, sizeof(int32_t));
    sw->col_start = calloc((size_t)in + 1, sizeof(int32_t));
    sw->row_in = array(nnz, sizeof(int32_t));
    sw->row_tap = array(nnz, sizeof(int32_t));
    sw->row_pos = array(nnz, sizeof(int32_t));
    sw->col_out = array(nnz, sizeof(int32_t));
    sw->col_tap = array(nnz, sizeof(int32_t));
    sw->col_pos = array(nnz, sizeof(int32_t));
    sw->slots = array((size_t)slot_tasks * nnz, sizeof(float));
    if (!sw->row_start || !sw->col_start || !sw->row_in || !sw->row_tap || !sw->row_pos ||
        !sw->col_out || !sw->col_tap || !sw->col_pos || !sw->slots) {
        sparse_weights_free(sw);
        return -1;
    }
    size_t e = 0;
    for (int o = 0; o < rows; o++) {
        sw->row_start[o] = (int32_t)e;
        for (int c = 0; c < in; c++)
            for (int t = 0; t < taps; t++) {
                const size_t pos = ((size_t)o * in + c) * taps + t;
                if (!mask[pos])
                    continue;
                sw->row_in[e] = c;
                sw->row_tap[e] = t;
                sw->row_pos[e] = compact ? (int32_t)e : (int32_t)pos;
                sw->col_start[c + 1]++;
                e++;
            }
    }
    sw->row_start[rows] = (int32_t)e;
    /* the transpose by counting sort: entries of a column stay in row order */
    for (int c = 0; c < in; c++)
        sw->col_start[c + 1] += sw->col_start[c];
    int32_t *fill = array((size_t)in, sizeof(int32_t));
    if (!fill) {
        sparse_weights_free(sw);
        return -1;
    }
    memcpy(fill, sw->col_start, sizeof(int32_t) * (size_t)in);
    for (int o = 0; o < rows; o++)
        for (int32_t r = sw->row_start[o]; r < sw->row_start[o + 1]; r++) {
            const int32_t at = fill[sw->row_in[r]]++;
            sw->col_out[at] = o;
            sw->col_tap[at] = sw->row_tap[r];
            sw->col_pos[at] = sw->row_pos[r];
        }
    free(fill);
    return 0;
}
