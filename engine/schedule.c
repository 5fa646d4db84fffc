#include "schedule.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char lr_schedule_help[] =
    "  paper-cifar          0.1, x0.2 at epochs 60/120/160 (WRN-28-2, 200 epochs)\n"
    "  paper-cifar-long     0.1; 0.02@120; 0.004@220; 0.0008@350 (400 epochs)\n"
    "  paper-imagenet       0.1, x0.1 at 30/60/90 (ResNet-50, 100 epochs)\n"
    "  paper-imagenet-long  0.1; 0.01@60; 0.001@120; 0.0001@180 (200 epochs)\n"
    "  gmp-cifar            compressed's pruning phase: 0@0; 0.02@1; 0.004@25; 0.0008@35 (48)\n"
    "  gmp-imagenet         the same for ResNet-50: 0@0; 0.01@1; 0.001@25; 0.0001@35\n"
    "  scaled               paper-cifar's shape squeezed into --epochs: x0.2 at 30%/60%/80%\n"
    "  constant             --lr throughout\n"
    "  custom list          e.g. 0.1,0.02@5,0.004@8 (lr@first-epoch, epochs from 0)\n";

struct preset {
    const char *name;
    int steps;
    int start[4];
    double factor[4];
};

static const struct preset presets[] = {
    {"paper-cifar", 4, {0, 60, 120, 160}, {1, 0.2, 0.04, 0.008}},
    {"paper-cifar-long", 4, {0, 120, 220, 350}, {1, 0.2, 0.04, 0.008}},
    {"paper-imagenet", 4, {0, 30, 60, 90}, {1, 0.1, 0.01, 0.001}},
    {"paper-imagenet-long", 4, {0, 60, 120, 180}, {1, 0.1, 0.01, 0.001}},
    /* Zhu & Gupta's gradual pruning after dense training: epoch 0 only refreshes state */
    {"gmp-cifar", 4, {0, 1, 25, 35}, {0, 0.2, 0.04, 0.008}},
    {"gmp-imagenet", 4, {0, 1, 25, 35}, {0, 0.1, 0.01, 0.001}},
    {"constant", 1, {0}, {1}},
};

static int scaled_preset(double base_lr, int epochs, struct lr_schedule *out)
{
    static const double fraction[4] = {0.0, 0.3, 0.6, 0.8}, factor[4] = {1, 0.2, 0.04, 0.008};
    out->steps = 0;
    for (int i = 0; i < 4; i++) {
        const int start = (int)lround(fraction[i] * epochs);
        if (out->steps > 0 && start <= out->start_epoch[out->steps - 1])
            continue; /* too few epochs to hold every step: the earlier one stays */
        out->start_epoch[out->steps] = start;
        out->lr[out->steps++] = base_lr * factor[i];
    }
    return 0;
}

static int parse_custom(const char *text, struct lr_schedule *out, char *err, size_t err_len)
{
    const char *p = text;
    out->steps = 0;
    while (*p) {
        if (out->steps == SCHEDULE_MAX_STEPS) {
            snprintf(err, err_len, "--lr-schedule '%s': more than %d steps", text,
                     SCHEDULE_MAX_STEPS);
            return -1;
        }
        char *end;
        errno = 0;
        const double lr = strtod(p, &end);
        if (end == p || errno || !(lr >= 0.0) || !isfinite(lr)) {
            snprintf(err, err_len,
                     "--lr-schedule '%s': expected a preset name or a list like "
                     "0.1,0.02@60,0.004@120 (learning rates >= 0)",
                     text);
            return -1;
        }
        long start = 0;
        if (*end == '@') {
            const char *q = end + 1;
            start = strtol(q, &end, 10);
            if (end == q || start < 0 || start > 1000000) {
                snprintf(err, err_len, "--lr-schedule '%s': expected a whole epoch after '@'",
                         text);
                return -1;
            }
        }
        const int first = out->steps == 0;
        if ((first && start != 0) ||
            (!first && start <= out->start_epoch[out->steps - 1])) {
            snprintf(err, err_len,
                     "--lr-schedule '%s': the first rate starts at epoch 0 and each later one at "
                     "a later epoch",
                     text);
            return -1;
        }
        out->start_epoch[out->steps] = (int)start;
        out->lr[out->steps++] = lr;
        if (*end == ',')
            end++;
        else if (*end != '\0') {
            snprintf(err, err_len, "--lr-schedule '%s': unexpected '%c'", text, *end);
            return -1;
        }
        p = end;
    }
    if (out->steps == 0) {
        snprintf(err, err_len, "--lr-schedule is empty");
        return -1;
    }
    return 0;
}

int lr_schedule_parse(const char *text, double base_lr, int epochs, struct lr_schedule *out,
                      char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (strcmp(text, "scaled") == 0)
        return scaled_preset(base_lr, epochs, out);
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(text, presets[i].name) != 0)
            continue;
        out->steps = presets[i].steps;
        for (int j = 0; j < out->steps; j++) {
            out->start_epoch[j] = presets[i].start[j];
            out->lr[j] = base_lr * presets[i].factor[j];
        }
        return 0;
    }
    return parse_custom(text, out, err, err_len);
}

int lr_schedule_is_preset(const char *text)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(text, presets[i].name) == 0)
            return 1;
    return strcmp(text, "scaled") == 0;
}

double lr_at_epoch(const struct lr_schedule *s, int epoch)
{
    double lr = s->lr[0];
    for (int i = 1; i < s->steps && s->start_epoch[i] <= epoch; i++)
        lr = s->lr[i];
    return lr;
}

void lr_schedule_format(const struct lr_schedule *s, char *out, size_t out_len)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < s->steps && used < out_len; i++) {
        int n = i == 0 ? snprintf(out + used, out_len - used, "%g", s->lr[i])
                       : snprintf(out + used, out_len - used, ",%g@%d", s->lr[i],
                                  s->start_epoch[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}
