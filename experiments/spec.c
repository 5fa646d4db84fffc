#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Our reader hands inih one whole line at a time, so its line count is ours:
 * inih as packaged cuts lines at a fixed length (INI_MAX_LINE) and would
 * parse the rest of a long line as a line of its own. */
struct reader {
    FILE *file;       /* or */
    const char *text; /* the rest of the text */
    char *line_buf;
    size_t line_cap;
    int line;
    int indented;     /* the current line starts with a space or tab */
    int long_line;    /* first line too long for inih, 0 if none */
    int max_len;      /* the longest line inih takes */
    struct spec_file *spec;
};

struct parse {
    struct reader *reader;
    char err[512];
    int err_line;     /* first error found by the handler, 0 if none */
    int last;         /* index of the item the last handler call wrote, -1 */
};

static void *grow(void *p, int *capacity, int count, size_t size)
{
    if (count < *capacity)
        return p;
    *capacity = *capacity ? 2 * *capacity : 32;
    void *q = realloc(p, (size_t)*capacity * size);
    if (!q) {
        fprintf(stderr, "dsrbench: out of memory\n");
        exit(1);
    }
    return q;
}

static char *copy(const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (!c) {
        fprintf(stderr, "dsrbench: out of memory\n");
        exit(1);
    }
    memcpy(c, s, len);
    c[len] = '\0';
    return c;
}

static void trim_span(const char **start, size_t *len)
{
    while (*len && isspace((unsigned char)**start)) {
        (*start)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*start)[*len - 1]))
        (*len)--;
}

/* remembers "[name]" headers with their line, for errors about a section */
static void note_section(struct spec_file *f, const char *line, int lineno)
{
    while (*line == ' ' || *line == '\t')
        line++;
    const char *end = strchr(line, ']');
    if (*line != '[' || !end)
        return;
    const char *name = line + 1;
    size_t len = (size_t)(end - name);
    trim_span(&name, &len);
    for (int i = 0; i < f->n_sections; i++)
        if (strlen(f->sections[i].name) == len && strncmp(f->sections[i].name, name, len) == 0)
            return;
    f->sections = grow(f->sections, &f->sections_capacity, f->n_sections, sizeof *f->sections);
    f->sections[f->n_sections++] = (struct spec_section){copy(name, len), lineno};
}

static char *read_line(char *str, int num, void *stream)
{
    struct reader *r = stream;
    const char *line;
    size_t len;
    if (r->file) {
        const ssize_t n = getline(&r->line_buf, &r->line_cap, r->file);
        if (n < 0)
            return NULL;
        line = r->line_buf;
        len = (size_t)n;
    } else {
        if (!*r->text)
            return NULL;
        line = r->text;
        const char *nl = strchr(line, '\n');
        len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        r->text += len;
    }
    r->line++;
    r->indented = len > 0 && (line[0] == ' ' || line[0] == '\t');
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len + 2 > (size_t)num) { /* room for the newline and the terminator */
        if (!r->long_line)
            r->long_line = r->line;
        r->max_len = num - 2;
        len = (size_t)num - 2;
    }
    memcpy(str, line, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    note_section(r->spec, str, r->line);
    return str;
}

static int handle(void *user, const char *section, const char *key, const char *value)
{
    struct parse *p = user;
    struct spec_file *f = p->reader->spec;
    const int line = p->reader->line;
    size_t slen = strlen(section);
    trim_span(&section, &slen);
    char *sec = copy(section, slen);
    if (p->reader->indented && p->last >= 0 && strcmp(f->items[p->last].section, sec) == 0 &&
        strcmp(f->items[p->last].key, key) == 0) {
        /* an indented line continues the value above (a long list) */
        struct spec_item *it = &f->items[p->last];
        const size_t old = strlen(it->value), add = strlen(value);
        char *joined = malloc(old + add + 2);
        if (!joined) {
            fprintf(stderr, "dsrbench: out of memory\n");
            exit(1);
        }
        snprintf(joined, old + add + 2, "%s%s%s", it->value, old && add ? " " : "", value);
        free(it->value);
        it->value = joined;
        free(sec);
        return 1;
    }
    const struct spec_item *twice = spec_find(f, sec, key);
    if (twice) {
        if (!p->err_line) {
            p->err_line = line;
            snprintf(p->err, sizeof p->err, "%s is given twice in [%s] (first on line %d)", key,
                     sec, twice->line);
        }
        free(sec);
        p->last = -1;
        return 0;
    }
    f->items = grow(f->items, &f->capacity, f->count, sizeof *f->items);
    f->items[f->count] = (struct spec_item){sec, copy(key, strlen(key)),
                                            copy(value, strlen(value)), line};
    p->last = f->count++;
    return 1;
}

static int finish(struct spec_file *f, struct reader *r, struct parse *p, int rc, char *err,
                  size_t err_len)
{
    free(r->line_buf);
    if (rc == 0 && !r->long_line)
        return 0;
    if (rc == -1)
        return spec_error(err, err_len, f, 0, NULL, "cannot read: %s", strerror(errno));
    if (rc < 0)
        return spec_error(err, err_len, f, 0, NULL, "out of memory");
    if (r->long_line && (rc == 0 || r->long_line <= rc))
        return spec_error(err, err_len, f, r->long_line, NULL,
                          "line longer than %d characters; continue a long list on indented "
                          "lines",
                          r->max_len);
    if (rc == p->err_line)
        return spec_error(err, err_len, f, rc, NULL, "%s", p->err);
    return spec_error(err, err_len, f, rc, NULL,
                      "expected KEY = VALUE, a [section] or a comment (; or #)");
}

static void start(struct spec_file *out, const char *name, struct reader *r, struct parse *p)
{
    *out = (struct spec_file){.path = copy(name, strlen(name))};
    r->spec = out;
    *p = (struct parse){.reader = r, .last = -1};
}

int spec_read(const char *path, struct spec_file *out, char *err, size_t err_len)
{
    struct reader r = {0};
    struct parse p;
    start(out, path, &r, &p);
    r.file = fopen(path, "r");
    if (!r.file) {
        spec_error(err, err_len, out, 0, NULL, "cannot open: %s", strerror(errno));
        spec_free(out);
        return -1;
    }
    const int rc = ini_parse_stream(read_line, &r, handle, &p);
    fclose(r.file);
    if (finish(out, &r, &p, rc, err, err_len) != 0) {
        spec_free(out);
        return -1;
    }
    return 0;
}

int spec_read_string(const char *name, const char *text, struct spec_file *out, char *err,
                     size_t err_len)
{
    struct reader r = {.text = text};
    struct parse p;
    start(out, name, &r, &p);
    if (finish(out, &r, &p, ini_parse_stream(read_line, &r, handle, &p), err, err_len) != 0) {
        spec_free(out);
        return -1;
    }
    return 0;
}

void spec_free(struct spec_file *f)
{
    for (int i = 0; i < f->count; i++) {
        free(f->items[i].section);
        free(f->items[i].key);
        free(f->items[i].value);
    }
    for (int i = 0; i < f->n_sections; i++)
        free(f->sections[i].name);
    free(f->items);
    free(f->sections);
    free(f->path);
    *f = (struct spec_file){0};
}

const struct spec_item *spec_find(const struct spec_file *f, const char *section,
                                  const char *key)
{
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->items[i].section, section) == 0 && strcmp(f->items[i].key, key) == 0)
            return &f->items[i];
    return NULL;
}

int spec_section_line(const struct spec_file *f, const char *section)
{
    for (int i = 0; i < f->n_sections; i++)
        if (strcmp(f->sections[i].name, section) == 0)
            return f->sections[i].line;
    return 0;
}

int spec_error(char *err, size_t err_len, const struct spec_file *f, int line, const char *key,
               const char *fmt, ...)
{
    int n = line > 0 ? snprintf(err, err_len, "%s:%d: ", f->path, line)
                     : snprintf(err, err_len, "%s: ", f->path);
    if (n >= 0 && (size_t)n < err_len && key)
        n += snprintf(err + n, err_len - (size_t)n, "%s: ", key);
    if (n >= 0 && (size_t)n < err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int spec_list_split(const char *value, struct spec_list *out)
{
    *out = (struct spec_list){.buf = copy(value, strlen(value))};
    for (char *p = out->buf; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            *p++ = '\0';
        if (!*p)
            break;
        if (out->count == SPEC_LIST_MAX)
            return -1;
        out->items[out->count++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != ',')
            p++;
    }
    return 0;
}

void spec_list_free(struct spec_list *l)
{
    free(l->buf);
    *l = (struct spec_list){0};
}
