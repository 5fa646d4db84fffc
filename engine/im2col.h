/* Gathering a convolution's input patches into a column matrix and adding
 * such a matrix back (its adjoint), for whole images of a CNHW tensor
 * (engine/conv.c runs them per chunk of images). */
#ifndef DSRBENCH_IM2COL_H
#define DSRBENCH_IM2COL_H

/* k x k patches (stride, zero padding) of a channel-major C x N x H x W
 * tensor, for an out_h x out_w output */
struct patches {
    int channels, batch, in_h, in_w, out_h, out_w, kernel, stride, pad;
};

/* col[(c, kh, kw)][(n - first, oh, ow)] = x[c][n][oh*stride - pad + kh][ow*stride - pad + kw]
 * for images n in [first, first + count), zero outside the input */
void im2col(const struct patches *p, const float *x, int first, int count, float *col);
/* dx[images first..first+count) += col2im(col) */
void col2im_add(const struct patches *p, const float *col, int first, int count, float *dx);

#endif
