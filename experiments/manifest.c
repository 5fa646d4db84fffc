#include "manifest.h"

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
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
