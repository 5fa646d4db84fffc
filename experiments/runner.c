#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data_check.h"
#include "manifest.h"
#include "run_eta.h"
#include "run_record.h"
#include "summary.h"
#include "train.h"

enum { MAX_JOBS = 256 };

/* The children, visible to the signal handler: on SIGINT/SIGTERM it passes
 * SIGTERM on to each, so the wait in the main loop returns promptly. */
static volatile pid_t children[MAX_JOBS];
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
    for (int i = 0; i < MAX_JOBS; i++)
        if (children[i] > 0)
            kill(children[i], SIGTERM);
}

struct session {
    const struct plan *plan;
    const struct runner_options *o;
    char *selected;       /* run i is asked for (by --only or as a source) */
    char *waiting;        /* selected and not started yet */
    const char **status;  /* per run, for summary.csv */
    double *started;      /* monotonic start time of a running run, else -1 */
    double *elapsed;      /* for the ETA: seconds so far of running runs, else -1 */
    pid_t pid[MAX_JOBS];
    int slot_run[MAX_JOBS];
    int running, finished, to_run, failed; /* finished: complete, failed or blocked */
    int completed;                         /* complete in this session */
    struct run_eta eta;
    char summary_path[4200];
};

static void line_prefix(const struct session *s, int run)
{
    const int width = snprintf(NULL, 0, "%d", s->plan->count);
    fprintf(stderr, "[%*d/%d] ", width, run + 1, s->plan->count);
}

/* every run matching --only, and the runs they read */
static int select_runs(struct session *s)
{
    const struct plan *p = s->plan;
    int any = 0;
    for (int i = p->count - 1; i >= 0; i--) {
        if (!s->o->only || fnmatch(s->o->only, p->runs[i].id, 0) == 0)
            s->selected[i] = any = 1;
        if (s->selected[i] && p->runs[i].source >= 0)
            s->selected[p->runs[i].source] = 1; /* sources come first in the plan */
    }
    if (!any && s->o->only)
        fprintf(stderr, "dsrbench run: --only '%s' matches none of the %d runs of %s (dsrbench "
                        "run SPEC --dry-run lists them)\n",
                s->o->only, p->count, p->experiment);
    return any || !s->o->only ? 0 : -1;
}

/* Reads every run folder: complete runs are kept (when the same command made
 * them), the rest wait. -1 when a complete run was made by another command. */
static int read_folders(struct session *s)
{
    int stale = 0;
    for (int i = 0; i < s->plan->count; i++) {
        const struct plan_run *r = &s->plan->runs[i];
        struct run_record rec;
        run_record_read(r->dir, &rec);
        if (rec.state == RUN_COMPLETE && !run_record_same_command(rec.command ? rec.command : "",
                                                                 r->argv)) {
            fprintf(stderr,
                    "dsrbench run: %s is complete but was made by another command (did the spec "
                    "change?)\n  made by: %s\n  the spec: ",
                    r->dir, rec.command ? rec.command : "(none recorded)");
            for (int a = 0; a < r->argc; a++)
                fprintf(stderr, "%s%s", a ? " " : "", r->argv[a]);
            fprintf(stderr, "\n  remove that folder to redo the run\n");
            stale = 1;
        }
        s->status[i] = rec.state == RUN_COMPLETE           ? "complete"
                       : strcmp(rec.status, "failed") == 0 ? "failed"
                                                           : "not-run";
        if (rec.state == RUN_COMPLETE && rec.wall_seconds[0])
            run_eta_observe(&s->eta, i, strtod(rec.wall_seconds, NULL));
        s->waiting[i] = s->selected[i] && rec.state != RUN_COMPLETE;
        s->to_run += s->waiting[i];
        run_record_free(&rec);
    }
    return stale ? -1 : 0;
}

/* a word as the shell would need it */
static void print_quoted(FILE *f, const char *w)
{
    if (*w && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-") ==
                  strlen(w)) {
        fputs(w, f);
        return;
    }
    fputc('\'', f);
    for (; *w; w++)
        fputs(*w == '\'' ? "'\\''" : (char[2]){*w, 0}, f);
    fputc('\'', f);
}

static void print_plan(const struct session *s)
{
    const struct plan *p = s->plan;
    printf("# %s, profile %s: %d runs, %d to run -> %s\n", p->experiment, p->profile, p->count,
           s->to_run, p->dir);
    for (int i = 0; i < p->count; i++) {
        if (!s->selected[i])
            continue;
        const struct plan_run *r = &p->runs[i];
        struct stat st;
        const char *what = !s->waiting[i]                ? "complete, skipped"
                           : stat(r->dir, &st) == 0      ? "unfinished: removed and redone"
                                                         : "to run";
        printf("# %d/%d %s (%s)%s%s\n", i + 1, p->count, r->id, what,
               r->source >= 0 ? ", reads " : "", r->source >= 0 ? p->runs[r->source].id : "");
        for (int a = 0; a < r->argc; a++) {
            if (a)
                putchar(' ');
            print_quoted(stdout, r->argv[a]);
        }
        putchar('\n');
    }
}

/* every data set a waiting run needs loads */
static int check_data(const struct session *s)
{
    const struct plan *p = s->plan;
    for (int i = 0; i < p->count; i++) {
        int first = s->waiting[i];
        for (int j = 0; j < i && first; j++)
            first = !(s->waiting[j] && strcmp(p->runs[j].data, p->runs[i].data) == 0);
        char err[1024];
        if (first && data_check(p->runs[i].data, err, sizeof err) != 0) {
            fprintf(stderr,
                    "dsrbench run: profile %s needs data set %s, which is not there:\n  %s\n"
                    "(runs use the data set's default folder, or $DSRBENCH_DATA)\n",
                    p->profile, p->runs[i].data, err);
            return -1;
        }
    }
    return 0;
}

/* One writer per experiment folder: a second runner would remove the first
 * one's unfinished runs. The lock goes with the process, also on SIGKILL. */
static int lock_folder(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/.lock", dir);
    const int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fd < 0 || fcntl(fd, F_SETLK, &lock) != 0) {
        fprintf(stderr, "dsrbench run: %s: %s\n", path,
                fd < 0 ? strerror(errno) : "another dsrbench run is writing this experiment");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd; /* held open until exit */
}

static int remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return -1;
        const struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[4200];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            if (remove_tree(child) != 0) {
                closedir(d);
                return -1;
            }
        }
        closedir(d);
        return rmdir(path);
    }
    return unlink(path);
}

/* a fresh folder with train.log open for the child, or -1 */
static int prepare_folder(const struct plan_run *r)
{
    if (remove_tree(r->dir) != 0) {
        fprintf(stderr, "dsrbench run: cannot remove the unfinished run %s: %s\n", r->dir,
                strerror(errno));
        return -1;
    }
    if (make_dirs(r->dir) != 0)
        return -1;
    char log[4200];
    snprintf(log, sizeof log, "%s/train.log", r->dir);
    const int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        fprintf(stderr, "dsrbench run: cannot write %s: %s\n", log, strerror(errno));
    return fd;
}

static pid_t spawn(const struct plan_run *r, int log)
{
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* the child dies with the runner, even when the runner is SIGKILLed */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, 0);
    dup2(log, 1);
    dup2(log, 2);
    execv("/proc/self/exe", r->argv);
    dprintf(2, "dsrbench run: cannot start /proc/self/exe: %s\n", strerror(errno));
    _exit(127);
}

static void print_eta(const struct session *s)
{
    const double now = monotonic_seconds();
    for (int i = 0; i < s->plan->count; i++)
        s->elapsed[i] = s->started[i] >= 0 ? now - s->started[i] : -1;
    const double left = run_eta_left(&s->eta, s->waiting, s->elapsed, s->o->jobs);
    char eta[32] = "?";
    if (left >= 0)
        format_duration(left, eta, sizeof eta);
    int waiting = 0;
    for (int i = 0; i < s->plan->count; i++)
        waiting += s->waiting[i];
    fprintf(stderr, " | %d/%d done, %d running, %d waiting, ETA %s\n", s->finished, s->to_run,
            s->running, waiting, eta);
}

/* starts run i in a free slot; 0, or -1 when it could not start (run failed) */
static int start(struct session *s, int i)
{
    const struct plan_run *r = &s->plan->runs[i];
    s->waiting[i] = 0;
    const int log = prepare_folder(r);
    const pid_t pid = log >= 0 ? spawn(r, log) : -1;
    if (log >= 0)
        close(log);
    if (pid < 0) {
        s->status[i] = "failed";
        s->failed++;
        s->finished++;
        line_prefix(s, i);
        fprintf(stderr, "FAILED  %s: could not start it\n", r->id);
        return -1;
    }
    int slot = 0;
    while (s->pid[slot] > 0)
        slot++;
    s->pid[slot] = pid;
    children[slot] = pid;
    s->slot_run[slot] = i;
    s->started[i] = monotonic_seconds();
    s->running++;
    if (stop_signal) /* the signal came before the handler could see this child */
        kill(pid, SIGTERM);
    line_prefix(s, i);
    fprintf(stderr, "start   %s\n", r->id);
    return 0;
}

static void finish(struct session *s, int slot, int wait_status)
{
    const int i = s->slot_run[slot];
    const struct plan_run *r = &s->plan->runs[i];
    s->pid[slot] = 0;
    children[slot] = 0;
    s->running--;
    const double seconds = monotonic_seconds() - s->started[i];
    s->started[i] = -1;
    struct run_record rec;
    run_record_read(r->dir, &rec);
    const int ok = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0 &&
                   rec.state == RUN_COMPLETE;
    char took[32];
    format_duration(seconds, took, sizeof took);
    line_prefix(s, i);
    if (ok) {
        s->status[i] = "complete";
        s->finished++;
        s->completed++;
        run_eta_observe(&s->eta, i, seconds); /* with start-up and data loading */
        fprintf(stderr, "done    %s in %s, test acc %s%%", r->id, took, rec.final_test_acc);
    } else if (stop_signal) {
        s->status[i] = "not-run";
        fprintf(stderr, "stopped %s after %s", r->id, took);
    } else {
        s->status[i] = "failed";
        s->failed++;
        s->finished++;
        if (WIFSIGNALED(wait_status))
            fprintf(stderr, "FAILED  %s: killed by signal %d; see %s/train.log", r->id,
                    WTERMSIG(wait_status), r->dir);
        else
            fprintf(stderr, "FAILED  %s: exit status %d; see %s/train.log", r->id,
                    WEXITSTATUS(wait_status), r->dir);
    }
    print_eta(s);
    run_record_free(&rec);
}

/* the next waiting run whose source is complete; runs whose source failed
 * are marked blocked on the way */
static int next_ready(struct session *s)
{
    const struct plan *p = s->plan;
    for (int i = 0; i < p->count; i++) {
        if (!s->waiting[i])
            continue;
        const int src = p->runs[i].source;
        if (src < 0 || strcmp(s->status[src], "complete") == 0)
            return i;
        if (strcmp(s->status[src], "failed") == 0 || strcmp(s->status[src], "blocked") == 0) {
            s->waiting[i] = 0;
            s->status[i] = "blocked";
            s->failed++;
            s->finished++;
            line_prefix(s, i);
            fprintf(stderr, "blocked %s: the run it reads, %s, failed\n", p->runs[i].id,
                    p->runs[src].id);
            i = -1; /* a blocked run may block earlier-listed readers: look again */
        }
    }
    return -1;
}

static void run_loop(struct session *s)
{
    for (;;) {
        while (!stop_signal && s->running < s->o->jobs) {
            const int i = next_ready(s);
            if (i < 0)
                break;
            if (start(s, i) != 0)
                summary_write(s->plan, s->status, s->summary_path);
        }
        if (s->running == 0)
            break;
        int wait_status;
        const pid_t pid = waitpid(-1, &wait_status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int slot = 0; slot < MAX_JOBS; slot++)
            if (s->pid[slot] == pid) {
                finish(s, slot, wait_status);
                summary_write(s->plan, s->status, s->summary_path);
            }
    }
}

static int report(const struct session *s, double seconds)
{
    const struct plan *p = s->plan;
    char took[32];
    format_duration(seconds, took, sizeof took);
    int done = 0, selected = 0;
    for (int i = 0; i < p->count; i++) {
        selected += s->selected[i];
        done += s->selected[i] && strcmp(s->status[i], "complete") == 0;
    }
    fprintf(stderr, "dsrbench run: %s, profile %s: %d of %d runs complete (%d run now) in %s; "
                    "summary %s\n",
            p->experiment, p->profile, done, selected, s->completed, took,
            s->summary_path);
    if (stop_signal) {
        fprintf(stderr, "dsrbench run: stopped by signal %d; the same command resumes the "
                        "grid\n",
                (int)stop_signal);
        return 128 + stop_signal;
    }
    if (s->failed) {
        fprintf(stderr, "dsrbench run: %d runs did not complete:\n", s->failed);
        for (int i = 0; i < p->count; i++) {
            if (!s->selected[i])
                continue;
            if (strcmp(s->status[i], "failed") == 0)
                fprintf(stderr, "  %s (failed): %s/train.log\n", p->runs[i].id, p->runs[i].dir);
            else if (strcmp(s->status[i], "blocked") == 0)
                fprintf(stderr, "  %s (blocked: it reads %s)\n", p->runs[i].id,
                        p->runs[p->runs[i].source].id);
        }
        return 1;
    }
    return done == selected ? 0 : 1;
}

static int execute(struct session *s)
{
    const struct plan *p = s->plan;
    if (select_runs(s) != 0 || read_folders(s) != 0)
        return 2;
    if (s->o->dry_run) {
        print_plan(s);
        return 0;
    }
    if (s->to_run > 0 && check_data(s) != 0)
        return 1;
    if (make_dirs(p->dir) != 0)
        return 1;
    const int lock = lock_folder(p->dir);
    if (lock < 0)
        return 1;
    snprintf(s->summary_path, sizeof s->summary_path, "%s/summary.csv", p->dir);
    fprintf(stderr, "dsrbench run: %s, profile %s: %d runs, %d to run, %d at a time -> %s\n",
            p->experiment, p->profile, p->count, s->to_run, s->o->jobs, p->dir);
    for (int i = 0; i < p->count; i++)
        if (s->selected[i] && !s->waiting[i]) {
            line_prefix(s, i);
            fprintf(stderr, "skip    %s (complete)\n", p->runs[i].id);
        }
    const double start_time = monotonic_seconds();
    struct sigaction stop = {.sa_handler = on_stop}, old_int, old_term;
    sigemptyset(&stop.sa_mask);
    sigaction(SIGINT, &stop, &old_int);
    sigaction(SIGTERM, &stop, &old_term);
    int rc = summary_write(p, s->status, s->summary_path) != 0 ? 1 : 0;
    if (rc == 0) {
        run_loop(s);
        rc = summary_write(p, s->status, s->summary_path) != 0;
        const int outcome = report(s, monotonic_seconds() - start_time);
        rc = outcome ? outcome : rc;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    close(lock);
    return rc;
}

int runner_execute(const struct plan *p, const struct runner_options *o)
{
    const int n = p->count > 0 ? p->count : 1;
    struct session s = {.plan = p, .o = o, .selected = calloc((size_t)n, 1),
                        .waiting = calloc((size_t)n, 1),
                        .status = calloc((size_t)n, sizeof *s.status),
                        .started = malloc(sizeof *s.started * (size_t)n),
                        .elapsed = malloc(sizeof *s.elapsed * (size_t)n)};
    if (!s.selected || !s.waiting || !s.status || !s.started || !s.elapsed) {
        fprintf(stderr, "dsrbench: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < n; i++)
        s.started[i] = -1;
    stop_signal = 0;
    run_eta_init(&s.eta, p);
    const int rc = execute(&s);
    run_eta_free(&s.eta);
    free(s.selected);
    free(s.waiting);
    free(s.status);
    free(s.started);
    free(s.elapsed);
    return rc;
}
