/* Full dense: no mask; the baseline every sparse method is measured against. */
#include "method.h"

const struct method method_dense = {
    .name = "dense",
    .summary = "full dense network, no mask",
};
