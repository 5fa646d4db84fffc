/* OpenBLAS sgemm alone at the shapes of a model's convolutions: the practical
 * peak that the convolution layers' achieved GFLOP/s are measured against.
 * A convolution of batch N is, in im2col form (layers.h), three GEMMs:
 *   forward          y[Cout x cols]  = W[Cout x CKK] col[CKK x cols]
 *   weight gradient  dW[Cout x CKK] += dy[Cout x cols] col^T
 *   input gradient   dcol[CKK x cols] = W^T dy
 * with CKK = Cin*k*k and cols = N*Hout*Wout. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "models.h"
#include "train.h"

static void add_gemm(struct bench_gemms *g, const char *layer, int pass, int m, int n, int k,
                     int trans_a, int trans_b)
{
    struct bench_gemm *e = &g->gemm[g->count++];
    *e = (struct bench_gemm){.pass = pass, .m = m, .n = n, .k = k, .trans_a = trans_a,
                             .trans_b = trans_b};
    snprintf(e->layer, sizeof e->layer, "%s", layer);
}

static size_t larger(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* median seconds of `repeats` calls after one warm-up call */
static double time_sgemm(const struct bench_gemm *e, const float *a, const float *b, float *c,
                         int repeats)
{
    double t[BENCH_MAX_STEPS];
    const int lda = e->trans_a ? e->m : e->k, ldb = e->trans_b ? e->k : e->n;
    if (repeats > BENCH_MAX_STEPS)
        repeats = BENCH_MAX_STEPS;
    for (int r = -1; r < repeats; r++) {
        const double start = monotonic_seconds();
        cblas_sgemm(CblasRowMajor, e->trans_a ? CblasTrans : CblasNoTrans,
                    e->trans_b ? CblasTrans : CblasNoTrans, e->m, e->n, e->k, 1.0f, a, lda, b,
                    ldb, 0.0f, c, e->n);
        if (r >= 0)
            t[r] = monotonic_seconds() - start;
    }
    return bench_median(t, repeats);
}

int bench_measure_sgemm(const struct bench_config *cfg, int repeats, struct bench_gemms *out)
{
    char err[256];
    struct model_spec spec;
    const struct bench_model *md = cfg->model;
    if (model_parse(md->name, &spec, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench bench: %s\n", err);
        return -1;
    }
    struct net *net = model_build(&spec, md->c, md->h, md->w, 10);
    if (!net)
        return -1;
    memset(out, 0, sizeof *out);
    size_t a_size = 0, b_size = 0, c_size = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const struct layer *l = &net->layers[i];
        if (l->kind != LAYER_CONV)
            continue;
        if (out->count + 3 > BENCH_MAX_GEMMS) {
            fprintf(stderr, "dsrbench bench: %s has more convolutions than the bench holds\n",
                    md->name);
            net_free(net);
            return -1;
        }
        const struct activation *in = &net->acts[l->in], *o = &net->acts[l->out];
        const int ckk = in->c * l->kernel * l->kernel, cols = cfg->batch * o->h * o->w;
        add_gemm(out, l->name, 0, o->c, cols, ckk, 0, 0);
        add_gemm(out, l->name, 1, o->c, ckk, cols, 0, 1);
        if (l->in != 0) /* the input images get no gradient */
            add_gemm(out, l->name, 1, ckk, cols, o->c, 1, 0);
        a_size = larger(a_size, (size_t)o->c * ckk);
        b_size = larger(b_size, (size_t)ckk * cols);
        c_size = larger(c_size, larger((size_t)o->c * cols, (size_t)ckk * cols));
    }
    net_free(net);
    /* each operand buffer holds the largest of the roles it plays */
    const size_t size = larger(larger(a_size, b_size), c_size);
    float *a = malloc(sizeof(float) * size), *b = malloc(sizeof(float) * size),
          *c = malloc(sizeof(float) * size);
    if (!a || !b || !c) {
        fprintf(stderr, "dsrbench bench: out of memory for the sgemm operands\n");
        free(a), free(b), free(c);
        return -1;
    }
    for (size_t i = 0; i < size; i++) {
        a[i] = 0.01f * (float)(i % 13) - 0.06f;
        b[i] = 0.02f * (float)(i % 7) - 0.06f;
        c[i] = 0.0f;
    }
    for (int i = 0; i < out->count; i++) {
        struct bench_gemm *e = &out->gemm[i];
        e->seconds = -1.0;
        for (int j = 0; j < i && e->seconds < 0; j++) { /* a shape measured already */
            const struct bench_gemm *p = &out->gemm[j];
            if (p->m == e->m && p->n == e->n && p->k == e->k && p->trans_a == e->trans_a &&
                p->trans_b == e->trans_b)
                e->seconds = p->seconds;
        }
        if (e->seconds < 0)
            e->seconds = time_sgemm(e, a, b, c, repeats);
    }
    free(a), free(b), free(c);
    return 0;
}
