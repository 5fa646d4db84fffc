/* Static sparse: PAPER.md's random initial mask, never changed. The engine
 * keeps masked gradients and weights at zero, so the method needs no hooks.
 * The paper trains it twice as long (--lr-schedule paper-cifar-long). */
#include "method.h"

const struct method method_static = {
    .name = "static",
    .summary = "fixed random sparse mask drawn at initialization, never changed",
    .sparse = 1,
};
