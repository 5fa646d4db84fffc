/* The paper's findings for RQ1-RQ3 as differences of mean final test accuracy
 * between DSR and the other configurations, with Welch 95% intervals over
 * seeds, and how each reads against the paper's claim. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RQ1's reading of "trained well": DSR no more than this many points below
 * full dense (the paper's largest gap on WRN-28-2 is 1.07 points at s = 0.9) */
#define NEAR_MARGIN 1.0

struct report_finding *report_findings_add(struct report_findings *fs)
{
    if (fs->count == fs->cap) {
        fs->cap = fs->cap ? 2 * fs->cap : 32;
        fs->f = report_must(realloc(fs->f, (size_t)fs->cap * sizeof *fs->f));
    }
    struct report_finding *f = &fs->f[fs->count++];
    *f = (struct report_finding){.diff = NAN, .low = NAN, .high = NAN, .paper = NAN};
    return f;
}

void report_findings_free(struct report_findings *fs)
{
    free(fs->f);
    *fs = (struct report_findings){0};
}

static struct report_finding *start(struct report_findings *fs, int question,
                                   enum report_claim claim, const struct report_group *g)
{
    struct report_finding *f = report_findings_add(fs);
    f->question = question;
    f->claim = claim;
    snprintf(f->model, sizeof f->model, "%s", g->model);
    snprintf(f->data, sizeof f->data, "%s", g->data);
    f->sparsity = g->sparsity;
    return f;
}

/* mean accuracy of a minus that of b */
static void compare(struct report_findings *fs, int question, enum report_claim claim,
                    const struct report_group *a, const struct report_group *b)
{
    struct report_finding *f = start(fs, question, claim, a);
    snprintf(f->subject, sizeof f->subject, "%s - %s", a->label, b->label);
    f->na = a->n;
    f->nb = b->n;
    if (a->n > 0 && b->n > 0) {
        const struct difference d = mean_difference(&a->acc, &b->acc);
        f->diff = d.diff;
        f->low = d.low;
        f->high = d.high;
    }
    f->paper = report_paper_accuracy(a->model, a->data, a->method, a->sparsity) -
               report_paper_accuracy(b->model, b->data, b->method, b->sparsity);
}

/* a comparison the runs cannot make: one side has no group */
static void unmatched(struct report_findings *fs, int question, enum report_claim claim,
                      const struct report_group *present, const char *subject, int present_is_a)
{
    struct report_finding *f = start(fs, question, claim, present);
    snprintf(f->subject, sizeof f->subject, "%s", subject);
    f->na = present_is_a ? present->n : 0;
    f->nb = present_is_a ? 0 : present->n;
}

void report_findings_budget(const struct report_groups *gs, struct report_findings *out)
{
    for (int i = 0; i < gs->count; i++) {
        const struct report_group *dsr = &gs->g[i];
        if (strcmp(dsr->method, "dsr") != 0)
            continue;
        const struct report_group *dense =
            report_find_group(gs, dsr->model, dsr->data, "dense", -1, 0);
        if (dense) {
            compare(out, 1, CLAIM_NEAR, dsr, dense);
        } else {
            char subject[200];
            snprintf(subject, sizeof subject, "%s - dense", dsr->label);
            unmatched(out, 1, CLAIM_NEAR, dsr, subject, 1);
        }
    }
    for (int i = 0; i < gs->count; i++) {
        const struct report_group *dsr = &gs->g[i];
        if (strcmp(dsr->method, "dsr") != 0)
            continue;
        for (int k = 0; k < gs->count; k++) {
            const struct report_group *o = &gs->g[k];
            if (o != dsr && strcmp(o->method, "dsr") != 0 && strcmp(o->method, "dense") != 0 &&
                strcmp(o->model, dsr->model) == 0 && strcmp(o->data, dsr->data) == 0 &&
                fabs(o->sparsity - dsr->sparsity) < 1e-9)
                compare(out, 2, CLAIM_HIGHER, dsr, o);
        }
    }
}

static int is_fixed_structure(const char *method)
{
    return strcmp(method, "reinit-fixed-structure") == 0 ||
           strcmp(method, "original-init-fixed-structure") == 0 || strcmp(method, "static") == 0;
}

void report_findings_ablations(const struct report_groups *gs, struct report_findings *out)
{
    for (int i = 0; i < gs->count; i++) {
        const struct report_group *dsr = &gs->g[i];
        if (strcmp(dsr->method, "dsr") != 0)
            continue;
        /* in the order the paper names them: reinit, original init, static */
        static const char *const order[] = {"reinit-fixed-structure",
                                            "original-init-fixed-structure", "static"};
        for (int m = 0; m < 3; m++)
            for (int k = 0; k < gs->count; k++) {
                const struct report_group *o = &gs->g[k];
                if (strcmp(o->method, order[m]) == 0 && is_fixed_structure(o->method) &&
                    strcmp(o->model, dsr->model) == 0 && strcmp(o->data, dsr->data) == 0 &&
                    fabs(o->sparsity - dsr->sparsity) < 1e-9)
                    compare(out, 3, CLAIM_HIGHER, dsr, o);
            }
    }
    /* frozen after N epochs against full DSR of the same model, sparsity and length */
    for (int k = 0; k < gs->count; k++) {
        const struct report_group *frozen = &gs->g[k];
        if (strcmp(frozen->method, "frozen-after-N-epochs") != 0)
            continue;
        const struct report_group *dsr = report_find_group(gs, frozen->model, frozen->data, "dsr",
                                                           frozen->sparsity, frozen->epochs);
        if (dsr) {
            compare(out, 3, CLAIM_HIGHER, dsr, frozen);
        } else {
            char subject[220];
            snprintf(subject, sizeof subject, "dsr (%d epochs) - %s", frozen->epochs,
                     frozen->label);
            unmatched(out, 3, CLAIM_HIGHER, frozen, subject, 0);
        }
    }
}

const char *report_verdict(const struct report_finding *f)
{
    if (f->na == 0 || (f->nb == 0 && f->claim != CLAIM_POSITIVE) || isnan(f->diff))
        return "not measured: no complete runs on one side";
    if (isnan(f->low))
        return "no interval: fewer than 2 seeds on a side";
    switch (f->claim) {
    case CLAIM_NEAR:
        if (f->low >= -NEAR_MARGIN)
            return "supported: within 1 point of dense or above";
        if (f->high < -NEAR_MARGIN)
            return "not supported: more than 1 point below dense";
        return "inconclusive: the interval reaches past 1 point below dense";
    case CLAIM_HIGHER:
        if (f->low > 0)
            return "supported: DSR is higher";
        if (f->high < 0)
            return "not supported: DSR is lower";
        return "inconclusive: the interval includes 0";
    case CLAIM_POSITIVE:
        if (f->low > 0)
            return "supported: positive correlation";
        if (f->high < 0)
            return "not supported: negative correlation";
        return "inconclusive: the interval includes 0";
    }
    return "";
}

void report_finding_line(const struct report_finding *f, char *buf, size_t len)
{
    const int rho = f->claim == CLAIM_POSITIVE;
    int n = snprintf(buf, len, "%s s=%g: %s = ", f->model, f->sparsity, f->subject);
    if (isnan(f->diff))
        n += snprintf(buf + n, len > (size_t)n ? len - n : 0, "n/a");
    else
        n += snprintf(buf + n, len > (size_t)n ? len - n : 0, rho ? "%+.2f" : "%+.2f points",
                      f->diff);
    if (!isnan(f->low))
        n += snprintf(buf + n, len > (size_t)n ? len - n : 0, ", 95%% CI [%+.2f, %+.2f]", f->low,
                      f->high);
    if (rho)
        n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " (%d seeds)", f->na);
    else
        n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " (%d vs %d seeds)", f->na, f->nb);
    n += snprintf(buf + n, len > (size_t)n ? len - n : 0, ": %s", report_verdict(f));
    if (!isnan(f->paper))
        snprintf(buf + n, len > (size_t)n ? len - n : 0, "; paper: %+.2f", f->paper);
}
