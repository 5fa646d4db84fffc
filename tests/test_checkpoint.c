/* Checkpoints: a bit-exact round trip of everything a resume needs, refusal
 * of damaged files and of other models, shapes and methods, warm starts, and
 * atomic writes that leave an existing checkpoint intact when they fail. The
 * nets are WRN-10-1 (batch norm, convs) with DSR at sparsity 0.9. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "checkpoint.h"
#include "method_fixture.h"

extern const struct method method_dsr;

static char folder[64];

static void make_folder(void)
{
    snprintf(folder, sizeof folder, "/tmp/dsrbench-ckpt-XXXXXX");
    cr_assert_not_null(mkdtemp(folder));
}

static void remove_folder(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", folder);
    cr_assert_eq(system(cmd), 0);
}

/* every test writes into a fresh folder of its own */
// cppcheck-suppress unknownMacro
TestSuite(checkpoint, .init = make_folder, .fini = remove_folder);

static void file_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", folder, name);
}

static void setup_dsr(struct method_fixture *f, const char *model, uint64_t seed)
{
    method_fixture_setup(f, &method_dsr,
                         (struct method_setup){.model = model, .sparsity = 0.9, .seed = seed});
}

/* every tensor, buffer and stream away from its initial value, as training leaves them */
static void scramble(struct method_fixture *f, uint64_t seed)
{
    struct rng r = rng_stream(seed, RNG_AUGMENT);
    struct net *net = f->net;
    for (int i = 0; i < net->n_params; i++) {
        struct param *p = net->params[i];
        for (size_t j = 0; j < p->count; j++) {
            p->value[j] = rng_normal(&r);
            p->momentum[j] = rng_normal(&r);
        }
        param_zero_masked(p, p->value);
    }
    for (int i = 0; i < net->n_layers; i++) {
        struct layer *l = &net->layers[i];
        if (l->kind != LAYER_BATCHNORM)
            continue;
        for (int c = 0; c < l->weight->shape[0]; c++) {
            l->running_mean[c] = rng_normal(&r);
            l->running_var[c] = 1.0f + rng_uniform(&r);
        }
    }
    /* a reallocation moves masks and H */
    for (int k = 1; k <= 3; k++)
        method_fixture_hook(f, method_dsr.after_step, 0, 100L * k);
}

struct saved_state {
    double threshold;
    struct rng order, augment;
};

static struct checkpoint_meta meta_of(struct method_fixture *f, struct saved_state *s,
                                      const char *model)
{
    s->order = rng_stream(3, RNG_DATA_ORDER);
    s->augment = rng_stream(3, RNG_AUGMENT);
    for (int i = 0; i < 7; i++)
        rng_next(&s->order);
    cr_assert_eq(method_dsr.state_size(&f->run), sizeof s->threshold);
    method_dsr.state_save(&f->run, &s->threshold);
    return (struct checkpoint_meta){
        .model = model, .method = "dsr", .sparsity = 0.9, .config = "epochs = 3\nseed = 3\n",
        .next_epoch = 2, .iteration = 1234, .order_stream = s->order,
        .augment_stream = s->augment, .method_stream = f->run.stream,
        .method_state = &s->threshold, .method_state_size = sizeof s->threshold};
}

static void save_or_fail(const char *path, struct method_fixture *f,
                         const struct checkpoint_meta *meta)
{
    char err[512];
    cr_assert_eq(checkpoint_save(path, f->net, meta, err, sizeof err), 0, "%s", err);
}

static int same_rng(const struct rng *a, const struct rng *b)
{
    return memcmp(a->s, b->s, sizeof a->s) == 0;
}

/* every value, momentum, mask and batch-norm buffer of a and b, bit for bit */
static void expect_same_tensors(const struct net *a, const struct net *b)
{
    cr_assert_eq(a->n_params, b->n_params);
    for (int i = 0; i < a->n_params; i++) {
        const struct param *p = a->params[i], *q = b->params[i];
        cr_expect_eq(memcmp(p->value, q->value, p->count * sizeof(float)), 0, "%s values",
                     p->name);
        cr_expect_eq(memcmp(p->momentum, q->momentum, p->count * sizeof(float)), 0,
                     "%s momentum", p->name);
        cr_assert_eq(!p->mask, !q->mask, "%s: one net has a mask", p->name);
        if (p->mask)
            cr_expect_eq(memcmp(p->mask, q->mask, p->count), 0, "%s mask", p->name);
    }
    for (int i = 0; i < a->n_layers; i++) {
        const struct layer *l = &a->layers[i], *m = &b->layers[i];
        if (l->kind != LAYER_BATCHNORM)
            continue;
        const size_t bytes = sizeof(float) * (size_t)l->weight->shape[0];
        cr_expect_eq(memcmp(l->running_mean, m->running_mean, bytes), 0, "%s running mean",
                     l->name);
        cr_expect_eq(memcmp(l->running_var, m->running_var, bytes), 0, "%s running var",
                     l->name);
    }
}

Test(checkpoint, round_trip_is_bit_exact)
{
    struct method_fixture a, b;
    setup_dsr(&a, "wrn-10-1", 3);
    scramble(&a, 3);
    struct saved_state s;
    const struct checkpoint_meta meta = meta_of(&a, &s, "wrn-10-1");
    char path[128], err[512];
    file_path(path, sizeof path, "a.ckpt");
    save_or_fail(path, &a, &meta);

    struct checkpoint c;
    cr_assert_eq(checkpoint_read(path, &c, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(c.meta.model, "wrn-10-1");
    cr_expect_str_eq(c.meta.method, "dsr");
    cr_expect_eq(c.meta.sparsity, 0.9);
    cr_expect_str_eq(c.meta.config, meta.config);
    cr_expect_eq(c.meta.next_epoch, 2);
    cr_expect_eq(c.meta.iteration, 1234);
    cr_expect(same_rng(&c.meta.order_stream, &s.order));
    cr_expect(same_rng(&c.meta.augment_stream, &s.augment));
    cr_expect(same_rng(&c.meta.method_stream, &a.run.stream));
    cr_assert_eq(c.meta.method_state_size, sizeof s.threshold);

    /* a run with another seed has other weights and masks until it loads */
    setup_dsr(&b, "wrn-10-1", 4);
    const struct checkpoint_identity id = {.model = "wrn-10-1", .method = "dsr",
                                           .sparsity = 0.9};
    cr_assert_eq(checkpoint_apply(&c, b.net, &b.run.store, &id, CHECKPOINT_ALL, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(method_dsr.state_load(&b.run, c.meta.method_state, c.meta.method_state_size),
                 0);
    expect_same_tensors(a.net, b.net);
    for (int t = 0; t < a.run.store.count; t++)
        cr_expect_eq(b.run.store.tensors[t].active, a.run.store.tensors[t].active);
    cr_expect_eq(sparse_store_check(&b.run.store, err, sizeof err), 0, "%s", err);
    double h;
    method_dsr.state_save(&b.run, &h);
    cr_expect_eq(h, s.threshold);
    checkpoint_free(&c);
    method_fixture_free(&a);
    method_fixture_free(&b);
}

/* a saved checkpoint's bytes */
static unsigned char *read_bytes(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    unsigned char *data = malloc(*size);
    cr_assert_eq(fread(data, 1, *size, f), *size);
    fclose(f);
    return data;
}

static void write_bytes(const char *path, const unsigned char *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, size, f), size);
    fclose(f);
}

/* reading path fails with a message naming it and containing `why` */
static void expect_refused(const char *path, const char *why)
{
    struct checkpoint c;
    char err[512];
    cr_assert_eq(checkpoint_read(path, &c, err, sizeof err), -1, "%s was accepted", path);
    cr_expect(strstr(err, path) == err, "the message does not start with the file: %s", err);
    cr_expect(strstr(err, why) != NULL, "expected '%s' in: %s", why, err);
    cr_expect_null(c.payload);
}

Test(checkpoint, damaged_files_are_refused)
{
    struct method_fixture f;
    setup_dsr(&f, "wrn-10-1", 5);
    struct saved_state s;
    const struct checkpoint_meta meta = meta_of(&f, &s, "wrn-10-1");
    char good[128], bad[128];
    file_path(good, sizeof good, "good.ckpt");
    file_path(bad, sizeof bad, "bad.ckpt");
    save_or_fail(good, &f, &meta);
    size_t size;
    unsigned char *bytes = read_bytes(good, &size);
    cr_assert_gt(size, 1000);

    bytes[size / 2] ^= 0x10;
    write_bytes(bad, bytes, size);
    expect_refused(bad, "damaged");
    bytes[size / 2] ^= 0x10;

    write_bytes(bad, bytes, size / 2);
    expect_refused(bad, "truncated");
    write_bytes(bad, bytes, 20);
    expect_refused(bad, "truncated");
    write_bytes(bad, bytes, 0);
    expect_refused(bad, "not a dsrbench checkpoint");

    unsigned char *other = malloc(size);
    memcpy(other, bytes, size);
    memcpy(other, "PK\3\4ZIPS", 8);
    write_bytes(bad, other, size);
    expect_refused(bad, "not a dsrbench checkpoint");

    /* a later format version with a valid header checksum */
    memcpy(other, bytes, size);
    const uint32_t version = 2;
    memcpy(other + 8, &version, 4);
    const uint32_t header_crc = (uint32_t)crc32(0, other, 32);
    memcpy(other + 32, &header_crc, 4);
    write_bytes(bad, other, size);
    expect_refused(bad, "format version 2; this dsrbench reads version 1");

    /* a flipped header field without a matching header checksum */
    memcpy(other, bytes, size);
    other[14] ^= 1;
    write_bytes(bad, other, size);
    expect_refused(bad, "header checksum");

    /* extra bytes after the compressed data */
    write_bytes(bad, bytes, size);
    FILE *append = fopen(bad, "ab");
    fputs("junk", append);
    fclose(append);
    expect_refused(bad, "damaged");

    char missing[128];
    file_path(missing, sizeof missing, "missing.ckpt");
    expect_refused(missing, "cannot read");
    free(other);
    free(bytes);
    method_fixture_free(&f);
}

/* an applied checkpoint that is refused leaves the net as it was */
static void expect_apply_refused(const struct checkpoint *c, struct method_fixture *f,
                                 const struct checkpoint_identity *id, unsigned parts,
                                 const char *why)
{
    const struct param *p = f->net->params[1];
    float *before = malloc(p->count * sizeof(float));
    memcpy(before, p->value, p->count * sizeof(float));
    char err[512];
    cr_assert_eq(checkpoint_apply(c, f->net, &f->run.store, id, parts, err, sizeof err), -1,
                 "accepted, expected a refusal with '%s'", why);
    cr_expect(strstr(err, c->path) == err, "the message does not name the file: %s", err);
    cr_expect(strstr(err, why) != NULL, "expected '%s' in: %s", why, err);
    cr_expect_eq(memcmp(before, p->value, p->count * sizeof(float)), 0, "the net changed");
    free(before);
}

Test(checkpoint, other_model_shapes_and_method_are_refused)
{
    struct method_fixture a, other;
    setup_dsr(&a, "wrn-10-1", 6);
    struct saved_state s;
    const struct checkpoint_meta meta = meta_of(&a, &s, "wrn-10-1");
    char path[128], err[512];
    file_path(path, sizeof path, "a.ckpt");
    save_or_fail(path, &a, &meta);
    struct checkpoint c;
    cr_assert_eq(checkpoint_read(path, &c, err, sizeof err), 0, "%s", err);

    setup_dsr(&other, "lenet-300-100", 6);
    const struct checkpoint_identity lenet = {.model = "lenet-300-100"};
    expect_apply_refused(&c, &other, &lenet, CHECKPOINT_WEIGHTS,
                         "holds a wrn-10-1; this net is a lenet-300-100");
    method_fixture_free(&other);

    /* the same name but another structure: the tensor list tells */
    setup_dsr(&other, "wrn-10-2", 6);
    const struct checkpoint_identity wrn = {.model = "wrn-10-1"};
    expect_apply_refused(&c, &other, &wrn, CHECKPOINT_WEIGHTS,
                         "holds 25 parameter tensors; this net has 26");
    method_fixture_free(&other);

    /* the same model for another input size: the shapes tell */
    struct method_fixture small, large;
    method_fixture_setup(&small, &method_dsr,
                         (struct method_setup){.sparsity = 0.9, .seed = 6});
    method_fixture_setup(&large, &method_dsr, (struct method_setup){.c = 1, .h = 32, .w = 32,
                                                                    .sparsity = 0.9, .seed = 6});
    char lenet_path[128];
    file_path(lenet_path, sizeof lenet_path, "lenet.ckpt");
    struct saved_state ls;
    const struct checkpoint_meta lenet_meta = meta_of(&small, &ls, "lenet-300-100");
    save_or_fail(lenet_path, &small, &lenet_meta);
    struct checkpoint lc;
    cr_assert_eq(checkpoint_read(lenet_path, &lc, err, sizeof err), 0, "%s", err);
    expect_apply_refused(&lc, &large, &lenet, CHECKPOINT_WEIGHTS,
                         "parameter 0 is fc1.weight [300, 784]; this net's is fc1.weight "
                         "[300, 1024]");
    checkpoint_free(&lc);
    method_fixture_free(&small);
    method_fixture_free(&large);

    setup_dsr(&other, "wrn-10-1", 7);
    const struct checkpoint_identity set = {.model = "wrn-10-1", .method = "set",
                                            .sparsity = 0.9};
    expect_apply_refused(&c, &other, &set, CHECKPOINT_ALL,
                         "is a run of method dsr; this run's method is set");
    const struct checkpoint_identity sparser = {.model = "wrn-10-1", .method = "dsr",
                                                .sparsity = 0.95};
    expect_apply_refused(&c, &other, &sparser, CHECKPOINT_ALL, "sparsity 0.9");
    /* weights alone load into a run of any method */
    cr_expect_eq(checkpoint_apply(&c, other.net, &other.run.store, &wrn, CHECKPOINT_WEIGHTS, err,
                                  sizeof err),
                 0, "%s", err);
    method_fixture_free(&other);

    /* masks into a net without masks (a dense method) */
    struct method_fixture dense;
    method_fixture_setup(&dense, method_find("dense"), (struct method_setup){.model = "wrn-10-1"});
    expect_apply_refused(&c, &dense, &wrn, CHECKPOINT_ALL, "has a mask and this net's has none");
    method_fixture_free(&dense);
    checkpoint_free(&c);
    method_fixture_free(&a);
}

Test(checkpoint, warm_start_loads_weights_or_masks_into_a_fresh_net)
{
    struct method_fixture trained, fresh;
    setup_dsr(&trained, "wrn-10-1", 8);
    scramble(&trained, 8);
    struct saved_state s;
    const struct checkpoint_meta meta = meta_of(&trained, &s, "wrn-10-1");
    char path[128], err[512];
    file_path(path, sizeof path, "trained.ckpt");
    save_or_fail(path, &trained, &meta);

    /* weights: values and momentum arrive, zeroed where the fresh run's own masks are off */
    setup_dsr(&fresh, "wrn-10-1", 9);
    cr_assert_eq(checkpoint_load_into(path, fresh.net, &fresh.run.store, "wrn-10-1",
                                      CHECKPOINT_WEIGHTS, err, sizeof err),
                 0, "%s", err);
    for (int i = 0; i < fresh.net->n_params; i++) {
        const struct param *p = fresh.net->params[i], *q = trained.net->params[i];
        for (size_t j = 0; j < p->count; j++) {
            const float want = p->mask && !p->mask[j] ? 0.0f : q->value[j];
            cr_assert_eq(p->value[j], want, "%s[%zu]", p->name, j);
            cr_assert_eq(p->momentum[j], q->momentum[j], "%s momentum[%zu]", p->name, j);
        }
    }
    cr_expect_eq(sparse_store_check(&fresh.run.store, err, sizeof err), 0, "%s", err);
    method_fixture_free(&fresh);

    /* masks only: the trained masks and counts, the fresh run's own initial values */
    setup_dsr(&fresh, "wrn-10-1", 9);
    struct method_fixture init;
    setup_dsr(&init, "wrn-10-1", 9);
    cr_assert_eq(checkpoint_load_into(path, fresh.net, &fresh.run.store, "wrn-10-1",
                                      CHECKPOINT_MASKS, err, sizeof err),
                 0, "%s", err);
    struct checkpoint c;
    cr_assert_eq(checkpoint_read(path, &c, err, sizeof err), 0, "%s", err);
    for (int t = 0; t < fresh.run.store.count; t++) {
        const struct param *p = fresh.run.store.tensors[t].param;
        const struct checkpoint_param *saved = checkpoint_find_param(&c, p->name);
        cr_assert_not_null(saved);
        cr_assert_not_null(saved->mask);
        cr_expect_eq(memcmp(p->mask, saved->mask, p->count), 0, "%s mask", p->name);
        cr_expect_eq(fresh.run.store.tensors[t].active, trained.run.store.tensors[t].active);
    }
    for (int i = 0; i < fresh.net->n_params; i++) {
        const struct param *p = fresh.net->params[i], *q = init.net->params[i];
        /* init is the fresh run before the load: where the trained mask is
         * on, the fresh run's own initial value (0 where its mask was off) */
        for (size_t j = 0; j < p->count; j++) {
            const int active = !p->mask || p->mask[j];
            cr_assert_eq(p->value[j], active ? q->value[j] : 0.0f, "%s[%zu]", p->name, j);
        }
    }
    cr_expect_eq(sparse_store_check(&fresh.run.store, err, sizeof err), 0, "%s", err);
    cr_expect_null(checkpoint_find_param(&c, "no.such.weight"));
    checkpoint_free(&c);
    method_fixture_free(&init);
    method_fixture_free(&fresh);
    method_fixture_free(&trained);
}

/* the file at path still reads and holds next_epoch */
static void expect_intact(const char *path, int next_epoch)
{
    struct checkpoint c;
    char err[512], tmp[160];
    cr_assert_eq(checkpoint_read(path, &c, err, sizeof err), 0, "the old file broke: %s", err);
    cr_expect_eq(c.meta.next_epoch, next_epoch);
    checkpoint_free(&c);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    struct stat st;
    cr_expect(stat(tmp, &st) != 0 || S_ISDIR(st.st_mode), "%s was left behind", tmp);
}

Test(checkpoint, a_failed_write_leaves_the_old_file_intact)
{
    struct method_fixture f;
    setup_dsr(&f, "wrn-10-1", 10);
    struct saved_state s;
    struct checkpoint_meta meta = meta_of(&f, &s, "wrn-10-1");
    char path[128], tmp[160], err[512];
    file_path(path, sizeof path, "last.ckpt");
    save_or_fail(path, &f, &meta);
    meta.next_epoch = 3;

    /* the temp file cannot be created (a folder holds its name; root ignores permissions) */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_eq(mkdir(tmp, 0700), 0);
    cr_expect_eq(checkpoint_save(path, f.net, &meta, err, sizeof err), -1);
    cr_expect(strstr(err, path) == err, "the message does not name the file: %s", err);
    expect_intact(path, 2);
    cr_assert_eq(rmdir(tmp), 0);

    /* the disk fills up halfway through the write */
    signal(SIGXFSZ, SIG_IGN);
    const struct rlimit small = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    cr_expect_eq(checkpoint_save(path, f.net, &meta, err, sizeof err), -1);
    cr_expect(strstr(err, "File too large") != NULL, "expected EFBIG in: %s", err);
    expect_intact(path, 2);
    method_fixture_free(&f);
}

Test(checkpoint, dsr_state_refuses_bytes_of_another_shape)
{
    struct method_fixture f;
    setup_dsr(&f, "lenet-300-100", 11);
    const double h = 0.25;
    cr_expect_eq(method_dsr.state_load(&f.run, &h, sizeof h), 0);
    double back;
    method_dsr.state_save(&f.run, &back);
    cr_expect_eq(back, 0.25);
    const float short_state = 0.25f;
    cr_expect_eq(method_dsr.state_load(&f.run, &short_state, sizeof short_state), -1);
    const double negative = -1;
    cr_expect_eq(method_dsr.state_load(&f.run, &negative, sizeof negative), -1);
    method_fixture_free(&f);
}
