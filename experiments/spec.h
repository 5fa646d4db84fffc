/* Experiment spec files: INI text read with libinih into (section, key,
 * value, line) items, so every later error can name the file, the line and
 * the key. What the sections and keys mean is plan.h's business; the schema
 * is documented in README.md and at the top of every experiments/specs file. */
#ifndef DSRBENCH_SPEC_H
#define DSRBENCH_SPEC_H
#include <stddef.h>

struct spec_item {
    char *section; /* trimmed, "" before the first [section] */
    char *key;
    char *value;   /* continuation lines (indented) are appended, space separated */
    int line;      /* where the key is */
};

struct spec_section {
    char *name;
    int line;      /* of its first [name] header */
};

struct spec_file {
    char *path;    /* as given; error messages start with it */
    struct spec_item *items;
    int count, capacity;
    struct spec_section *sections; /* in file order, each name once */
    int n_sections, sections_capacity;
};

/* 0, or -1 with "PATH:LINE: ..." in err (syntax errors, a key given twice in
 * one section, over-long lines, a missing file). */
int spec_read(const char *path, struct spec_file *out, char *err, size_t err_len);
/* the same from text in memory; name stands for the path in messages */
int spec_read_string(const char *name, const char *text, struct spec_file *out, char *err,
                     size_t err_len);
void spec_free(struct spec_file *f);

/* the item of key in section, or NULL */
const struct spec_item *spec_find(const struct spec_file *f, const char *section,
                                  const char *key);
/* the line of section's header, 0 when there is none */
int spec_section_line(const struct spec_file *f, const char *section);

/* Writes "PATH:LINE: KEY: message" into err (line <= 0 and key NULL are left
 * out) and returns -1. */
int spec_error(char *err, size_t err_len, const struct spec_file *f, int line, const char *key,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* a list value: items separated by spaces, tabs or commas */
#define SPEC_LIST_MAX 64
struct spec_list {
    char *buf; /* owned copy of the value, cut into the items */
    char *items[SPEC_LIST_MAX];
    int count;
};
/* 0, or -1 when the value holds more than SPEC_LIST_MAX items */
int spec_list_split(const char *value, struct spec_list *out);
void spec_list_free(struct spec_list *l);

#endif
