/* A run's checkpoints: what train_run saves (the trainer's position and
 * streams, the method's stream and state, the net) and how a resume puts it
 * back, so the continued run equals an uninterrupted one bit for bit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "run.h"

/* counts, shape, classes and a CRC-32 of the labels: enough to tell data sets
 * and subsets apart without hashing every pixel of a large set */
static void data_fingerprint(struct text *t, const char *name, const struct dataset *d)
{
    uLong crc = crc32(0, NULL, 0);
    crc = crc32(crc, (const Bytef *)d->labels, (uInt)(sizeof *d->labels * (size_t)d->count));
    text_printf(t, "data.%s = %d images %dx%dx%d, %d classes, labels crc32 %08lx\n", name,
                d->count, d->c, d->h, d->w, d->classes, (unsigned long)crc);
}

char *run_config_text(const struct run *r)
{
    struct text t = {0};
    text_printf(&t, "%s", r->o->options_text ? r->o->options_text : "");
    data_fingerprint(&t, "train", &r->train);
    data_fingerprint(&t, "test", &r->test);
    return t.data;
}

int run_save_checkpoint(struct run *r, const char *name)
{
    const struct method_run *m = &r->method_run;
    const size_t state_size = r->method->state_size ? r->method->state_size(m) : 0;
    void *state = state_size ? malloc(state_size) : NULL;
    if (state_size && !state) {
        fprintf(stderr, "dsrbench train: out of memory for %zu bytes of method state\n",
                state_size);
        return -1;
    }
    if (state)
        r->method->state_save(m, state);
    const struct checkpoint_meta meta = {
        .model = r->model, .method = r->method->name, .sparsity = m->sparsity,
        .config = r->config, .next_epoch = r->trainer.next_epoch,
        .iteration = r->trainer.iteration, .order_stream = r->trainer.order_stream,
        .augment_stream = r->trainer.augment_stream, .method_stream = m->stream,
        .method_state = state, .method_state_size = state_size};
    char path[4200], err[4400];
    run_path(r, name, path, sizeof path);
    const int rc = checkpoint_save(path, r->net, &meta, err, sizeof err);
    free(state);
    if (rc != 0)
        fprintf(stderr, "dsrbench train: %s\n", err);
    return rc;
}

/* the first line where two configs differ, for the refusal */
static void first_difference(const char *a, const char *b, char *out, size_t len)
{
    while (*a && *a == *b) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        if (!ea || !eb || ea - a != eb - b || strncmp(a, b, (size_t)(ea - a)) != 0)
            break;
        a = ea + 1;
        b = eb + 1;
    }
    snprintf(out, len, "the checkpoint has '%.*s', this run '%.*s'", (int)strcspn(a, "\n"), a,
             (int)strcspn(b, "\n"), b);
}

int run_restore_checkpoint(struct run *r)
{
    const struct checkpoint *c = r->o->resume;
    struct method_run *m = &r->method_run;
    char err[4400];
    if (strcmp(c->meta.config, r->config) != 0) {
        first_difference(c->meta.config, r->config, err, sizeof err);
        fprintf(stderr, "dsrbench train: --resume: %s belongs to another run: %s\n", c->path,
                err);
        return -1;
    }
    const struct checkpoint_identity id = {.model = r->model, .method = r->method->name,
                                           .sparsity = m->sparsity};
    if (checkpoint_apply(c, r->net, &m->store, &id, CHECKPOINT_ALL, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench train: --resume: %s\n", err);
        return -1;
    }
    if (m->store.count > 0 && sparse_store_check(&m->store, err, sizeof err) != 0) {
        fprintf(stderr, "dsrbench train: --resume: %s: inconsistent masks: %s\n", c->path, err);
        return -1;
    }
    if (c->meta.next_epoch > r->cfg.epochs) {
        fprintf(stderr, "dsrbench train: --resume: %s is at epoch %d of a %d-epoch run\n",
                c->path, c->meta.next_epoch, r->cfg.epochs);
        return -1;
    }
    m->stream = c->meta.method_stream;
    r->trainer.order_stream = c->meta.order_stream;
    r->trainer.augment_stream = c->meta.augment_stream;
    r->trainer.next_epoch = c->meta.next_epoch;
    r->trainer.iteration = c->meta.iteration;
    if (r->method->state_load) {
        if (r->method->state_load(m, c->meta.method_state, c->meta.method_state_size) != 0) {
            fprintf(stderr, "dsrbench train: --resume: %s: method %s refused its saved state\n",
                    c->path, r->method->name);
            return -1;
        }
    } else if (c->meta.method_state_size != 0) {
        fprintf(stderr,
                "dsrbench train: --resume: %s holds %zu bytes of method state; method %s keeps "
                "none\n",
                c->path, c->meta.method_state_size, r->method->name);
        return -1;
    }
    return 0;
}
