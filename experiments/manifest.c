#include "manifest.h"

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "version.h"

void manifest_build_section(struct text *t)
{
    text_printf(t, "\n[build]\n");
    text_printf(t, "git_commit = %s\n", DSRBENCH_GIT);
    text_printf(t, "compiler = %s\n", __VERSION__);
    text_printf(t, "openblas_core = %s\n", openblas_get_corename());
    text_printf(t, "openblas_config = %s\n", openblas_get_config());
}

int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        fprintf(stderr, "dsrbench: path too long: %s\n", path);
        return -1;
    }
    for (char *p = buf + 1; ; p++) {
        const char c = *p;
        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "dsrbench: cannot create folder %s: %s\n", buf, strerror(errno));
            return -1;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "dsrbench: %s exists and is not a folder\n", path);
        return -1;
    }
    return 0;
}

int manifest_read(const char *path,
                  void (*take)(void *ctx, const char *section, const char *key,
                               const char *value),
                  void *ctx)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL, section[64] = "";
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (line[0] == '[' && n > 1 && line[n - 1] == ']') {
            snprintf(section, sizeof section, "%.*s", (int)(n - 2), line + 1);
            continue;
        }
        char *eq = strstr(line, " = ");
        if (!eq)
            continue;
        *eq = '\0';
        take(ctx, section, line, eq + 3);
    }
    free(line);
    fclose(f);
    return 0;
}
