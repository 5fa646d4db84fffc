/* Helpers shared by the layer and model tests: buffers with guard bytes that
 * catch overruns, random fills that keep finite differences away from kinks,
 * a normalized-error comparison and central finite differences of a loss. */
#ifndef DSRBENCH_TESTS_TESTUTIL_H
#define DSRBENCH_TESTS_TESTUTIL_H
#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* Finite-difference step for inputs of order one. Its truncation error is
 * O(step^2) on smooth layers, and piecewise-linear layers are tested on
 * inputs spaced KINK_SPACING apart, so no step crosses a kink. */
#define FD_STEP 1e-2f
#define KINK_SPACING (4.0f * FD_STEP)
/* gradient buffers start at this value so a test sees that backward adds */
#define GRAD_PREFILL 0.25f
#define FORWARD_TOLERANCE 1e-5
#define GRADIENT_TOLERANCE 1e-2

/* Zero-filled memory with canary bytes on both sides; `what` (kept, not copied)
 * names the buffer in failure messages. guarded_free fails the test when a
 * canary changed. */
void *guarded_alloc(size_t bytes, const char *what);
float *guarded_floats(size_t count, const char *what);
/* a guarded buffer of count floats (zeroed) whose returned start is 64-byte
 * aligned; free *raw */
float *guarded_aligned_floats(size_t count, const char *what, float **raw);

struct bordered_layout;
/* where layout l (layers.h: flat, or lanes when l->group_stride > 0) keeps
 * value (x, y) of image n of channel ch */
size_t layout_index(const struct bordered_layout *l, int ch, int n, int y, int x);
/* a gradient buffer of count floats, each GRAD_PREFILL */
float *guarded_gradient(size_t count, const char *what);
/* NULL is allowed, as for free */
void guarded_free(void *buf);
void guarded_free_array(void *const *bufs, size_t n);
/* guarded_free of each argument */
#define GUARDED_FREE_ALL(...)                                                               \
    guarded_free_array((void *const[]){__VA_ARGS__},                                        \
                       sizeof((void *const[]){__VA_ARGS__}) / sizeof(void *))

/* count guarded floats drawn uniformly from [-1, 1) */
float *guarded_random(struct rng *r, size_t count, const char *what);
void fill_uniform(struct rng *r, float *x, size_t n, float lo, float hi);
void fill_normal(struct rng *r, float *x, size_t n);
/* A shuffled grid: values `spacing` apart and at least spacing / 2 from zero,
 * so a step below spacing / 2 flips no ReLU and no max-pool winner. */
void fill_distinct(struct rng *r, float *x, size_t n, float spacing);

/* max |got - want| / max |want| (the plain max |got - want| when want is all zero) */
double normalized_error(const float *got, const float *want, size_t n);
/* fails the test, naming the worst entry, when normalized_error exceeds tolerance */
void expect_close(const char *what, const float *got, const float *want, size_t n,
                  double tolerance);

/* L = sum(y * r) in double; its gradient with respect to y is r */
double weighted_sum(const float *y, const float *r, size_t n);

typedef double (*loss_fn)(void *ctx);
/* (loss(v + step) - loss(v - step)) / (2 step) for the value *v, which it restores */
double central_difference(loss_fn loss, void *ctx, float *v, float step);
/* Checks grad - prior (prior: what the buffer held before backward, GRAD_PREFILL
 * for kernels that accumulate) against central differences of loss with
 * respect to each of values[0..n). */
void expect_gradient(const char *what, const float *grad, float prior, float *values, size_t n,
                     loss_fn loss, void *ctx);

/* A fresh scratch folder /tmp/dsrbench-NAME-PID for a suite's runs, written
 * to root (len bytes), and its removal; both fail the test when the shell
 * command fails. */
void scratch_folder_make(char *root, size_t len, const char *name);
void scratch_folder_remove(const char *root);

#endif
