/* One child process per measurement: its peak RSS (wait4's ru_maxrss) is then
 * that configuration's alone, and thread pools start fresh with the thread
 * count asked for. The parent never enters an OpenMP region, so forking it is
 * safe. */
#define _DEFAULT_SOURCE /* wait4 and MAP_ANONYMOUS */
#include <cblas.h>
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static int wait_child(pid_t pid, double *peak_rss_mib)
{
    int status = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            perror("dsrbench bench: wait4");
            return -1;
        }
    }
    *peak_rss_mib = (double)usage.ru_maxrss / 1024.0; /* Linux reports KiB */
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    fprintf(stderr, "dsrbench bench: a measurement child died (signal %d)\n",
            WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}

int bench_in_child(int (*fn)(const void *arg, void *result), const void *arg, void *result,
                   size_t size, int threads, double *peak_rss_mib)
{
    void *shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        perror("dsrbench bench: mmap");
        return -1;
    }
    fflush(NULL);
    const pid_t pid = fork();
    if (pid < 0) {
        perror("dsrbench bench: fork");
        munmap(shared, size);
        return -1;
    }
    if (pid == 0) {
        omp_set_num_threads(threads);
        openblas_set_num_threads(threads);
        const int rc = fn(arg, shared);
        fflush(NULL);
        _exit(rc == 0 ? 0 : 1);
    }
    const int rc = wait_child(pid, peak_rss_mib);
    memcpy(result, shared, size);
    munmap(shared, size);
    return rc;
}

int bench_run_program(char *const argv[], char *out, size_t len, double *peak_rss_mib)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("dsrbench bench: pipe");
        return -1;
    }
    fflush(NULL);
    const pid_t pid = fork();
    if (pid < 0) {
        perror("dsrbench bench: fork");
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        fprintf(stderr, "dsrbench bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t got;
    while ((got = read(fds[0], out + used, len - 1 - used)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        used += (size_t)got;
        if (used == len - 1) { /* drain what does not fit */
            char sink[256];
            while (read(fds[0], sink, sizeof sink) > 0)
                ;
            break;
        }
    }
    out[used] = '\0';
    close(fds[0]);
    return wait_child(pid, peak_rss_mib);
}

static int compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(const double *v, int n)
{
    if (n <= 0)
        return 0.0;
    double *copy = malloc(sizeof *copy * (size_t)n);
    if (!copy) {
        fprintf(stderr, "dsrbench bench: out of memory\n");
        exit(1);
    }
    memcpy(copy, v, sizeof *copy * (size_t)n);
    qsort(copy, (size_t)n, sizeof *copy, compare_doubles);
    const double m = n % 2 ? copy[n / 2] : 0.5 * (copy[n / 2 - 1] + copy[n / 2]);
    free(copy);
    return m;
}

double bench_min(const double *v, int n)
{
    double m = n > 0 ? v[0] : 0.0;
    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

double bench_max(const double *v, int n)
{
    double m = n > 0 ? v[0] : 0.0;
    for (int i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}
