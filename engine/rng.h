/* Random numbers: xoshiro256** generators, one independent stream per purpose.
 * A run has one seed; rng_stream() derives a stream from (seed, purpose) with
 * splitmix64, so e.g. the data order depends only on the seed, never on which
 * method runs or how many numbers the weight init drew. */
#ifndef DSRBENCH_RNG_H
#define DSRBENCH_RNG_H
#include <stddef.h>
#include <stdint.h>

enum rng_purpose {
    RNG_WEIGHT_INIT = 1,
    RNG_MASK_INIT = 2,
    RNG_DATA_ORDER = 3,
    RNG_AUGMENT = 4,
    RNG_METHOD = 5,
};

struct rng {
    uint64_t s[4];
};

struct rng rng_stream(uint64_t seed, enum rng_purpose purpose);
uint64_t rng_next(struct rng *r);
/* uniform in [0, 1) with 24 random bits (exactly representable in float) */
float rng_uniform(struct rng *r);
/* uniform integer in [0, n), unbiased; n > 0 */
uint64_t rng_below(struct rng *r, uint64_t n);
/* standard normal (Box-Muller, no cached second value so the state alone defines the stream) */
float rng_normal(struct rng *r);
/* Fisher-Yates shuffle of idx[0..n) */
void rng_shuffle(struct rng *r, int32_t *idx, size_t n);

#endif
