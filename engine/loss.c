/* Softmax cross-entropy, mean over the batch, on [classes x n] logits. */
#include "layers.h"

#include <math.h>

double softmax_cross_entropy(int n, int classes, const float *logits, const int32_t *labels,
                             float *dlogits, int *correct)
{
    double total = 0.0;
    int right = 0;
    for (int j = 0; j < n; j++) {
        float max = logits[j];
        int arg = 0;
        for (int k = 1; k < classes; k++) {
            if (logits[(size_t)k * n + j] > max) {
                max = logits[(size_t)k * n + j];
                arg = k;
            }
        }
        double denom = exp((double)logits[j] - max); /* class 0; classes >= 1 */
        for (int k = 1; k < classes; k++)
            denom += exp((double)logits[(size_t)k * n + j] - max);
        total += log(denom) - ((double)logits[(size_t)labels[j] * n + j] - max);
        right += arg == labels[j];
        if (!dlogits)
            continue;
        for (int k = 0; k < classes; k++) {
            const double p = exp((double)logits[(size_t)k * n + j] - max) / denom;
            dlogits[(size_t)k * n + j] = (float)((p - (k == labels[j])) / n);
        }
    }
    if (correct)
        *correct = right;
    return total / n;
}
