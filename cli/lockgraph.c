/* SPDX-License-Identifier: MIT */
/*
 * lockgraph.c — the command line: `run` starts a program with the shim
 * preloaded and waits for it through the supervisor (lg_supervise.h), then
 * hands the trace folder to the analyzer (lg_model.h) and the reporters;
 * `report` and `graph` read a finished folder again.
 */
#include "lg_exec.h"
#include "lg_model.h"
#include "lg_supervise.h"
#include "lg_trace.h"
#include "lg_threadtable.h"
#ifdef LG_HAVE_VIZ
#include "lg_viz.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef LG_VERSION
#define LG_VERSION "0.1.0"
#endif

/* Exit statuses of lockgraph itself (README "Exit status"). */
enum {
    LG_EXIT_USAGE = 2,          /* bad command line */
    LG_EXIT_FINDINGS = 66,      /* default --error-exitcode */
    LG_EXIT_TOOL = 125,         /* lockgraph itself failed */
    LG_EXIT_CANNOT_EXEC = 126,
    LG_EXIT_NOT_FOUND = 127,
};

#define DEFAULT_OUT "lockgraph.out"
#define LG_HANG_FILE "hang.lgt"          /* written by the supervisor (cli/supervise.c) */
#define DEFAULT_HANG_TIMEOUT 10.0

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void vsay(const char *fmt, va_list ap)
{
    char line[8192];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "lockgraph: %s\n", line);
    fflush(stderr);
}

/* One line on stderr, prefixed with the tool's name. */
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
}

static const char usage_text[] =
    "usage: lockgraph run [options] -- CMD [ARGS...]\n"
    "       lockgraph report DIR [--format text|json|sarif|html] [-o FILE]\n"
    "       lockgraph graph DIR -o FILE [--kind lock-order|wait-for] [--finding N] [--all]\n"
    "       lockgraph --help | --version\n"
    "\n"
    "run: start CMD with the lockgraph shim preloaded, record its locks, threads\n"
    "and processes into the output folder, then print the report on stderr.\n"
    "  --out DIR            output folder (default ./" DEFAULT_OUT "; an existing one\n"
    "                       is kept as DIR.old)\n"
    "  --error-exitcode N   exit status when a finding has severity error (default 66)\n"
    "  --hang-timeout SEC   seconds of total stillness before the run counts as hung\n"
    "                       (default 10; 0 disables hang detection)\n"
    "  --no-kill            leave a hung program running (for a debugger);\n"
    "                       same as --on-hang wait (default: --on-hang kill)\n"
    "  --json FILE          also write the JSON report to FILE\n"
    "  --html FILE          also write the HTML report to FILE\n"
    "  --sarif FILE         also write the SARIF 2.1.0 report to FILE\n"
    "  --quiet              print the report only when there are findings\n"
    "\n"
    "report: analyze a finished output folder again; the report goes to stdout\n"
    "(or -o FILE). graph: draw the lock-order or wait-for graph (.svg .png .pdf .dot).\n"
    "\n"
    "Exit status of run: the program's own (128+N if signal N killed it); 66 (or\n"
    "--error-exitcode) when there is a finding of severity error; 125 when\n"
    "lockgraph itself fails; 126 when CMD cannot be executed; 127 when it is not\n"
    "found; 2 for a bad command line. report and graph: 0, 125 or 2.\n"
    "\n"
    "Environment: LOCKGRAPH_SHIM names the shim to preload instead of the one\n"
    "found next to this program.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
    fputs("(see lockgraph --help)\n", stderr);
    return LG_EXIT_USAGE;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* ---------------------------------------------------------------- shim */

static int is_readable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/*
 * Find liblockgraph.so: $LOCKGRAPH_SHIM; next to this program in the build
 * tree (bin/../lib); in an installed tree relative to this program
 * (bin/../<libdir>, where preload/ installs it, or bin/../<libdir>/lockgraph);
 * the configured install path. Writes the absolute path to buf and returns
 * 0, or -1 after saying where it looked.
 */
static int find_shim(char *buf, size_t len)
{
    const char *env = getenv("LOCKGRAPH_SHIM");
    if (env && *env) {
        if (!is_readable_file(env) || !realpath(env, buf)) {
            say("LOCKGRAPH_SHIM=%s: no such readable file", env);
            return -1;
        }
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        say("cannot read /proc/self/exe to find the shim: %s; set LOCKGRAPH_SHIM", strerror(errno));
        return -1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    const char *rel[] = {
        "../lib/liblockgraph.so",
#ifdef LG_INSTALL_LIBDIR
        "../" LG_INSTALL_LIBDIR "/lockgraph/liblockgraph.so",
        "../" LG_INSTALL_LIBDIR "/liblockgraph.so",
#endif
    };
    char cand[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        snprintf(cand, sizeof cand, "%s/%s", self, rel[i]);
        if (is_readable_file(cand) && realpath(cand, buf))
            return 0;
    }
#ifdef LG_INSTALL_SHIM
    if (is_readable_file(LG_INSTALL_SHIM) && realpath(LG_INSTALL_SHIM, buf))
        return 0;
    say("cannot find liblockgraph.so (looked in %s/../lib and " LG_INSTALL_SHIM "); "
        "build the preload target or set LOCKGRAPH_SHIM", self);
#else
    say("cannot find liblockgraph.so (looked in %s/../lib); build the preload target or set LOCKGRAPH_SHIM", self);
#endif
    return -1;
}

/* ------------------------------------------------------- output folder */

static int is_lockgraph_entry(const char *name)
{
    unsigned a;
    int b, n = 0;
    if (strcmp(name, LG_TT_FILE) == 0 || strcmp(name, LG_HANG_FILE) == 0)
        return 1;
    return sscanf(name, "trace-%d-%u.lgt%n", &b, &a, &n) == 2 && name[n] == '\0';
}

/* Classify an existing folder: 0 empty, 1 holds lockgraph output (a thread
 * table or a trace file), 2 something else (never renamed or removed),
 * -1 cannot be read. */
static int folder_kind(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int entries = 0, ours = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        entries++;
        if (is_lockgraph_entry(e->d_name))
            ours = 1;
    }
    closedir(d);
    return entries == 0 ? 0 : ours ? 1 : 2;
}

/* How many per-process traces (trace-*.lgt) dir holds, -1 if it cannot
 * be read; their bytes in *bytes when asked. */
static int scan_traces(const char *dir, long long *bytes)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "trace-", 6) != 0 || !is_lockgraph_entry(e->d_name))
            continue;
        n++;
        struct stat st;
        if (bytes && fstatat(dirfd(d), e->d_name, &st, 0) == 0)
            *bytes += st.st_size;
    }
    closedir(d);
    return n;
}

static int count_traces(const char *dir) { return scan_traces(dir, NULL); }

/* Did the supervisor leave its record of a hang in dir? */
static int has_hang_record(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, LG_HANG_FILE);
    return access(path, F_OK) == 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int mkdir_parents(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/*
 * Prepare the output folder: an existing empty one is reused; one that
 * holds lockgraph output is renamed to DIR.old (an older DIR.old, if it
 * too is lockgraph output, is removed first); anything else is refused so
 * that a mistyped --out never moves a user's folder. The new folder is
 * mode 0700. Writes its absolute path to abs. 0, or -1 after one line.
 */
static int prepare_outdir(const char *dir_arg, char *abs)
{
    struct stat st;
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", dir_arg) >= (int)sizeof dir || !dir[0]) {
        say("bad output folder name '%s'", dir_arg);
        return -1;
    }
    /* "out/" names the folder "out": its keep-copy is "out.old", not "out/.old". */
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
        dir[n - 1] = '\0';
    if (lstat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            say("output folder %s exists and is not a folder; choose another --out", dir);
            return -1;
        }
        int kind = folder_kind(dir);
        if (kind < 0) {
            say("cannot read output folder %s: %s", dir, strerror(errno));
            return -1;
        }
        if (kind == 2) {
            say("output folder %s exists and holds files that are not lockgraph's; "
                "remove it or choose another --out", dir);
            return -1;
        }
        if (kind == 1) {
            char old[PATH_MAX];
            if (snprintf(old, sizeof old, "%s.old", dir) >= (int)sizeof old) {
                say("output folder name too long: %s", dir);
                return -1;
            }
            if (lstat(old, &st) == 0) {
                int okind = S_ISDIR(st.st_mode) ? folder_kind(old) : 2;
                if (okind != 0 && okind != 1) {
                    say("%s exists and is not an earlier lockgraph output folder; remove it or choose another --out", old);
                    return -1;
                }
                if (nftw(old, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
                    say("cannot remove the previous %s: %s", old, strerror(errno));
                    return -1;
                }
            }
            if (rename(dir, old) != 0) {
                say("cannot rename %s to %s: %s", dir, old, strerror(errno));
                return -1;
            }
        }
    }
    if (mkdir_parents(dir) != 0 || (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
        say("cannot create output folder %s: %s", dir, strerror(errno));
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        say("cannot write into output folder %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!realpath(dir, abs)) {
        say("cannot resolve output folder %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- reports */

enum report_format { FMT_TEXT, FMT_JSON, FMT_SARIF, FMT_HTML };

static int parse_format(const char *s, enum report_format *f)
{
    if (!strcmp(s, "text")) *f = FMT_TEXT;
    else if (!strcmp(s, "json")) *f = FMT_JSON;
    else if (!strcmp(s, "sarif")) *f = FMT_SARIF;
    else if (!strcmp(s, "html")) *f = FMT_HTML;
    else return -1;
    return 0;
}

static const char *format_name(enum report_format f)
{
    static const char *names[] = { "text", "json", "sarif", "html" };
    return names[f];
}

/* Write one report of the model to out. 0, or -1 after one line (a format
 * this build cannot produce). */
static int write_report(const struct lg_model *m, enum report_format f, FILE *out)
{
    switch (f) {
    case FMT_TEXT:
        lg_report_text(m, out);
        return 0;
    case FMT_JSON:
        lg_report_json(m, out);
        return 0;
    case FMT_SARIF:
    case FMT_HTML:
#ifdef LG_HAVE_VIZ
        if (f == FMT_SARIF)
            lg_report_sarif(m, out);
        else
            lg_report_html(m, out);
        return 0;
#else
        say("this lockgraph was built without viz/ (Graphviz): no %s report", format_name(f));
        return -1;
#endif
    }
    return -1;
}

/* Write a report into a file (replaced if present). 0 or -1 after one line. */
static int write_report_file(const struct lg_model *m, enum report_format f, const char *path)
{
    FILE *out = fopen(path, "w");
    if (!out) {
        say("cannot write %s report to %s: %s", format_name(f), path, strerror(errno));
        return -1;
    }
    int rc = write_report(m, f, out);
    if (fclose(out) != 0 && rc == 0) {
        say("cannot write %s report to %s: %s", format_name(f), path, strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        unlink(path);
    return rc;
}

/* Load a finished folder, saying what is wrong in one line on failure.
 * flags: lg_model_load_opts' (LG_LOAD_TEXT when only the text report is
 * written: a run without findings then costs no symbolization). */
static struct lg_model *load_model(const char *dir, unsigned flags)
{
    struct lg_model *m = NULL;
    const char *err = NULL;
    int rc = lg_model_load_opts(dir, flags, &m, &err);
    if (rc != 0 || !m) {
        say("cannot analyze %s: %s", dir, err ? err : strerror(rc < 0 ? -rc : EIO));
        if (m)
            lg_model_free(m);
        return NULL;
    }
    return m;
}

/* Check that dir is a folder that holds at least one trace; one line if not. */
static int check_trace_folder(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        say("%s: %s (give the folder `lockgraph run --out` wrote)", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        say("%s is not a folder (give the folder `lockgraph run --out` wrote)", dir);
        return -1;
    }
    int n = count_traces(dir);
    if (n < 0) {
        say("cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    if (n == 0 && !has_hang_record(dir)) {
        say("%s holds no lockgraph trace (no trace-*.lgt file): nothing to analyze", dir);
        return -1;
    }
    return 0;
}

/* `report` and `graph` set this to their own command line: on a big
 * trace, the analysis child runs it again with glibc's malloc asked for
 * transparent huge pages (GLIBC_TUNABLES is read only at start-up). The
 * model of a 770 MiB trace is about 1 GiB of arrays and hash tables
 * built in one go; with 4 KiB pages, page faults are a third of the time
 * on a virtual machine (bench/analyze_scale: 13.9 s -> 9.9 s). */
static char **reexec_argv;
#define LG_ANALYZE_CHILD_ENV "LOCKGRAPH_ANALYZE_CHILD"
#define LG_HUGE_TRACE (64ll << 20)

static void exec_with_huge_pages(void)
{
    const char *old = getenv("GLIBC_TUNABLES");
    if (old && strstr(old, "glibc.malloc.hugetlb"))
        return;   /* the user chose */
    char tun[4096];
    if (snprintf(tun, sizeof tun, "%s%sglibc.malloc.hugetlb=1", old ? old : "", old && *old ? ":" : "") >=
        (int)sizeof tun)
        return;
    if (setenv("GLIBC_TUNABLES", tun, 1) != 0 || setenv(LG_ANALYZE_CHILD_ENV, "1", 1) != 0)
        return;
    execv("/proc/self/exe", reexec_argv);
    /* no /proc, say: analyze here, as before */
    if (old)
        setenv("GLIBC_TUNABLES", old, 1);
    else
        unsetenv("GLIBC_TUNABLES");
    unsetenv(LG_ANALYZE_CHILD_ENV);
}

/*
 * Run work(arg) in a child process and return its result (0..255). The
 * analyzer reads files a crashed or hostile program may have left in any
 * state: if it ever crashes on one, that costs one line and status 125,
 * never the program's exit status nor a core dump in the user's face.
 */
static int isolated(int (*work)(void *), void *arg, const char *dir)
{
    if (reexec_argv && getenv(LG_ANALYZE_CHILD_ENV))
        return work(arg);           /* the analysis child, run again: its parent watches */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return work(arg);           /* no isolation, but still the answer */
    if (pid == 0) {
        const char *min = getenv("LOCKGRAPH_HUGE_TRACE_MIN");   /* bytes; for tests */
        long long bytes = 0;
        if (reexec_argv && scan_traces(dir, &bytes) > 0 && bytes >= (min && *min ? atoll(min) : LG_HUGE_TRACE))
            exec_with_huge_pages();
        int rc = work(arg);
        fflush(NULL);
        _exit(rc);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            say("lost the analysis of %s: %s", dir, strerror(errno));
            return LG_EXIT_TOOL;
        }
    }
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    say("the analyzer crashed (%s) reading %s; this is a lockgraph bug: please report it with that folder",
        strsignal(WTERMSIG(st)), dir);
    return LG_EXIT_TOOL;
}

/* ----------------------------------------------------------------- run */

static volatile sig_atomic_t target_pid;

/* Termination requests to lockgraph go on to the program, so that it ends
 * its own way and its report is still written. */
static void forward_signal(int sig)
{
    if (target_pid > 0)
        kill(target_pid, sig);
}

struct run_opts {
    const char *out;
    int error_exitcode;
    double hang_timeout;
    int kill_on_hang;
    const char *json, *html, *sarif;
    int quiet;
};

/* Say once what the shim cannot do for this executable (static, set-id,
 * 32-bit); those run anyway, with process-level hang detection only. */
static void warn_uninterposable(const char *prog, const struct lg_exec_info *x)
{
    if (x->kind == LG_EXEC_STATIC)
        say("%s is statically linked: its calls cannot be interposed; only process-level hang detection applies", prog);
    else if (x->secure)
        say("%s is setuid/setgid: the loader ignores LD_PRELOAD for it, so its calls cannot be interposed; "
            "only process-level hang detection applies", prog);
    else if (x->elf_class == 32)
        say("%s is a 32-bit program: the 64-bit shim cannot be loaded into it; only process-level hang detection applies", prog);
}

static int status_to_exit(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return LG_EXIT_TOOL;
}

/*
 * The child side of run: wait until the parent has the thread table ready,
 * set the environment, exec. Never returns; on failure the errno goes to
 * the parent through the close-on-exec pipe.
 */
static void exec_target(const char *path, char **argv, const char *shim, const char *outdir,
                        int go_fd, int err_fd)
{
    char c;
    while (read(go_fd, &c, 1) < 0 && errno == EINTR)
        ;
    close(go_fd);

    const char *old = getenv("LD_PRELOAD");
    size_t len = strlen(shim) + (old ? strlen(old) : 0) + 2;
    char *preload = malloc(len);
    int err = ENOMEM;
    if (preload) {
        if (old && *old)
            snprintf(preload, len, "%s:%s", shim, old);
        else
            snprintf(preload, len, "%s", shim);
        if (setenv("LD_PRELOAD", preload, 1) == 0 && setenv(LG_ENV_DIR, outdir, 1) == 0) {
            execv(path, argv);
        }
        err = errno;
    }
    while (write(err_fd, &err, sizeof err) < 0 && errno == EINTR)
        ;
    _exit(LG_EXIT_CANNOT_EXEC);
}

/* What the analysis of a run found (analyze_run's exit code). */
enum { ANALYSIS_CLEAN = 0, ANALYSIS_ERRORS = 1, ANALYSIS_UNREADABLE = 2 };

struct run_analysis {
    const char *outdir;
    const struct run_opts *o;
    int hang_record_only;       /* no trace, only the supervisor's hang.lgt */
};

/* Analyze a finished run: the text report on stderr, the files asked for.
 * Returns ANALYSIS_* or LG_EXIT_TOOL (after one line). */
static int analyze_run(void *arg)
{
    const struct run_analysis *an = arg;
    const struct run_opts *o = an->o;
    struct lg_model *m = NULL;
    if (an->hang_record_only) {
        /* A static program: the supervisor has explained the hang
         * already; a model is a bonus if the analyzer can build one from
         * its record alone. */
        const char *err = NULL;
        if (lg_model_load(an->outdir, &m, &err) != 0 || !m) {
            if (m)
                lg_model_free(m);
            return ANALYSIS_UNREADABLE;
        }
    } else if (!(m = load_model(an->outdir, o->json || o->sarif || o->html ? 0 : LG_LOAD_TEXT))) {
        return LG_EXIT_TOOL;
    }
    int failed = 0;
    if (!o->quiet || m->nfindings > 0)
        lg_report_text(m, stderr);
    if (o->json && write_report_file(m, FMT_JSON, o->json) != 0)
        failed = 1;
    if (o->sarif && write_report_file(m, FMT_SARIF, o->sarif) != 0)
        failed = 1;
    if (o->html && write_report_file(m, FMT_HTML, o->html) != 0)
        failed = 1;
    int errors = lg_model_count(m, LG_SEV_ERROR);
    lg_model_free(m);
    if (failed)
        return LG_EXIT_TOOL;
    return errors > 0 ? ANALYSIS_ERRORS : ANALYSIS_CLEAN;
}

static int cmd_run(int argc, char **argv)
{
    struct run_opts o = {
        .out = DEFAULT_OUT, .error_exitcode = LG_EXIT_FINDINGS,
        .hang_timeout = DEFAULT_HANG_TIMEOUT, .kill_on_hang = 1,
    };
    enum { O_OUT = 256, O_EXIT, O_HANG, O_NOKILL, O_ONHANG, O_JSON, O_HTML, O_SARIF, O_QUIET, O_HELP };
    static const struct option longopts[] = {
        { "out", required_argument, 0, O_OUT },
        { "error-exitcode", required_argument, 0, O_EXIT },
        { "hang-timeout", required_argument, 0, O_HANG },
        { "no-kill", no_argument, 0, O_NOKILL },
        { "on-hang", required_argument, 0, O_ONHANG },
        { "json", required_argument, 0, O_JSON },
        { "html", required_argument, 0, O_HTML },
        { "sarif", required_argument, 0, O_SARIF },
        { "quiet", no_argument, 0, O_QUIET },
        { "help", no_argument, 0, O_HELP },
        { 0, 0, 0, 0 },
    };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:o:q", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
        case O_OUT: o.out = optarg; break;
        case O_EXIT:
            if (parse_int(optarg, 0, 255, &o.error_exitcode))
                return usage_error("--error-exitcode wants a number from 0 to 255, not '%s'", optarg);
            break;
        case O_HANG: {
            char *end;
            o.hang_timeout = strtod(optarg, &end);
            if (end == optarg || *end || o.hang_timeout < 0 || o.hang_timeout > 1e6)
                return usage_error("--hang-timeout wants seconds (0 disables), not '%s'", optarg);
            break;
        }
        case O_NOKILL: o.kill_on_hang = 0; break;
        case O_ONHANG:
            if (!strcmp(optarg, "kill")) o.kill_on_hang = 1;
            else if (!strcmp(optarg, "wait")) o.kill_on_hang = 0;
            else return usage_error("--on-hang wants kill or wait, not '%s'", optarg);
            break;
        case O_JSON: o.json = optarg; break;
        case O_HTML: o.html = optarg; break;
        case O_SARIF: o.sarif = optarg; break;
        case 'q':
        case O_QUIET: o.quiet = 1; break;
        case O_HELP: fputs(usage_text, stdout); return 0;
        case ':': return usage_error("option %s needs a value", argv[optind - 1]);
        default: return usage_error("run: unknown option %s", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("run: no program given (lockgraph run [options] -- CMD [ARGS...])");
    char **cmd = argv + optind;
#ifndef LG_HAVE_VIZ
    if (o.html || o.sarif) {
        say("this lockgraph was built without viz/ (Graphviz): --html and --sarif are not available");
        return LG_EXIT_TOOL;
    }
#endif

    /* 127/126 are decided here, with the reason, not by a failed exec. */
    struct lg_exec_info x;
    char why[8192];
    const char *whyp;
    int rc = lg_exec_resolve(cmd[0], &x, why, sizeof why, &whyp);
    if (rc != 0) {
        say("%s", whyp);
        return rc;
    }
    warn_uninterposable(cmd[0], &x);
    if (x.kind == LG_EXEC_SCRIPT && strstr(x.path, "/shims/") && !o.quiet)
        say("note: %s is a version manager's wrapper script (%s): its shell is traced too; "
            "give the real program (e.g. `pyenv which %s`) to trace only that",
            cmd[0], x.path, strrchr(x.path, '/') + 1);
    if (x.kind == LG_EXEC_SCRIPT && x.interp[0]) {
        struct lg_exec_info ix;
        if (lg_exec_resolve(x.interp, &ix, why, sizeof why, &whyp) == 0 &&
            (ix.kind == LG_EXEC_STATIC || ix.secure || ix.elf_class == 32))
            warn_uninterposable(x.interp, &ix);
    }

    char shim[PATH_MAX];
    if (find_shim(shim, sizeof shim) != 0)
        return LG_EXIT_TOOL;
    if (strpbrk(shim, " :")) {
        say("the shim's path %s contains a space or a colon, which LD_PRELOAD cannot carry; "
            "set LOCKGRAPH_SHIM to a path without them", shim);
        return LG_EXIT_TOOL;
    }
    char outdir[PATH_MAX];
    if (prepare_outdir(o.out, outdir) != 0)
        return LG_EXIT_TOOL;

    int go[2], errp[2];
    if (pipe2(go, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        say("cannot create a pipe: %s", strerror(errno));
        return LG_EXIT_TOOL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        say("cannot fork: %s", strerror(errno));
        return LG_EXIT_TOOL;
    }
    if (pid == 0) {
        close(go[1]);
        close(errp[0]);
        exec_target(x.path, cmd, shim, outdir, go[0], errp[1]);
    }
    close(go[0]);
    close(errp[1]);

    /* SIGINT/SIGQUIT from the terminal reach the program too (same process
     * group); lockgraph stays to write the report. TERM/HUP are passed on. */
    target_pid = pid;
    struct sigaction sa = { .sa_handler = SIG_IGN };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);   /* a closed stderr must not lose the program's status */
    sa.sa_handler = forward_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    rc = lg_threadtable_create(outdir, pid);
    if (rc != 0) {
        say("cannot create the thread table in %s: %s", outdir, strerror(-rc));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return LG_EXIT_TOOL;
    }
    if (write(go[1], "g", 1) != 1) {
        say("cannot start the program: %s", strerror(errno));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return LG_EXIT_TOOL;
    }
    close(go[1]);

    int exec_err = 0;
    ssize_t n;
    while ((n = read(errp[0], &exec_err, sizeof exec_err)) < 0 && errno == EINTR)
        ;
    close(errp[0]);
    if (n == (ssize_t)sizeof exec_err) {
        waitpid(pid, NULL, 0);
        /* Nothing ran: leave no empty output folder behind. */
        char tt[PATH_MAX + 32];
        snprintf(tt, sizeof tt, "%s/%s", outdir, LG_TT_FILE);
        unlink(tt);
        rmdir(outdir);
        say("%s: cannot execute: %s", cmd[0], strerror(exec_err));
        return exec_err == ENOENT ? LG_EXIT_NOT_FOUND : LG_EXIT_CANNOT_EXEC;
    }

    struct lg_supervise_opts so = {
        .outdir = outdir, .hang_timeout = o.hang_timeout,
        .kill_on_hang = o.kill_on_hang, .quiet = o.quiet,
    };
    struct lg_supervise_result res;
    rc = lg_supervise(pid, &so, &res);
    if (rc != 0) {
        say("lost track of the program (pid %d): %s", (int)pid, strerror(-rc));
        return LG_EXIT_TOOL;
    }
    int status = status_to_exit(res.status);

    /* A program the shim could not enter leaves no trace: its status is
     * all there is (the reason was said before it started). */
    int hung_status = res.hung && o.error_exitcode ? o.error_exitcode : status;
    int ntraces = count_traces(outdir);
    if (ntraces <= 0) {
        if (x.kind == LG_EXEC_DYNAMIC && !x.secure && x.elf_class != 32)
            say("no trace was written into %s: the shim did not load into %s "
                "(did it clear LD_PRELOAD or its environment?)", outdir, cmd[0]);
        if (!has_hang_record(outdir))
            return hung_status;
    }

    struct run_analysis an = { .outdir = outdir, .o = &o, .hang_record_only = ntraces <= 0 };
    int verdict = isolated(analyze_run, &an, outdir);
    if (verdict == ANALYSIS_UNREADABLE)
        return hung_status;
    if (verdict != ANALYSIS_CLEAN && verdict != ANALYSIS_ERRORS)
        return LG_EXIT_TOOL;
    /* A hang the supervisor ended is an error even if the analyzer could
     * add no finding of its own to it. */
    if ((verdict == ANALYSIS_ERRORS || res.hung) && o.error_exitcode != 0) {
        if (!o.quiet)
            say("exit status %d: %s (the program's own was %d)", o.error_exitcode,
                verdict == ANALYSIS_ERRORS ? "there are error findings" : "the program hung", status);
        return o.error_exitcode;
    }
    return status;
}

/* -------------------------------------------------------------- report */

struct report_job {
    const char *dir;
    enum report_format fmt;
    const char *outpath;        /* NULL: stdout */
};

/* Analyze job->dir and write one report. 0, or LG_EXIT_TOOL after one line. */
static int do_report(void *arg)
{
    const struct report_job *job = arg;
    struct lg_model *m = load_model(job->dir, job->fmt == FMT_TEXT ? LG_LOAD_TEXT : 0);
    if (!m)
        return LG_EXIT_TOOL;
    int rc;
    if (job->outpath) {
        rc = write_report_file(m, job->fmt, job->outpath);
    } else {
        rc = write_report(m, job->fmt, stdout);
        if (fflush(stdout) != 0) {
            say("cannot write the report: %s", strerror(errno));
            rc = -1;
        }
    }
    lg_model_free(m);
    return rc == 0 ? 0 : LG_EXIT_TOOL;
}

static int cmd_report(int argc, char **argv)
{
    enum report_format fmt = FMT_TEXT;
    const char *dir = NULL, *outpath = NULL;
    static const struct option longopts[] = {
        { "format", required_argument, 0, 'f' },
        { "output", required_argument, 0, 'o' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (parse_format(optarg, &fmt))
                return usage_error("--format wants text, json, sarif or html, not '%s'", optarg);
            break;
        case 'o': outpath = optarg; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case ':': return usage_error("option %s needs a value", argv[optind - 1]);
        default: return usage_error("report: unknown option %s", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return usage_error("report wants exactly one folder (lockgraph report DIR [--format F] [-o FILE])");
    dir = argv[optind];
#ifndef LG_HAVE_VIZ
    if (fmt == FMT_SARIF || fmt == FMT_HTML) {
        say("this lockgraph was built without viz/ (Graphviz): no %s report", format_name(fmt));
        return LG_EXIT_TOOL;
    }
#endif
    if (check_trace_folder(dir) != 0)
        return LG_EXIT_TOOL;
    struct report_job job = { .dir = dir, .fmt = fmt, .outpath = outpath };
    return isolated(do_report, &job, dir);
}

/* --------------------------------------------------------------- graph */

#ifdef LG_HAVE_VIZ
struct graph_job {
    const char *dir;
    const char *outpath;
    const struct lg_viz_opts *vo;
};

/* Analyze job->dir and draw it. 0, or LG_EXIT_TOOL after one line. */
static int do_graph(void *arg)
{
    const struct graph_job *job = arg;
    struct lg_model *m = load_model(job->dir, 0);
    if (!m)
        return LG_EXIT_TOOL;
    int rc = 0;
    if (job->vo->finding >= m->nfindings) {
        say("--finding %d: %s has %d finding%s (numbered from 0)", job->vo->finding, job->dir,
            m->nfindings, m->nfindings == 1 ? "" : "s");
        rc = LG_EXIT_TOOL;
    } else {
        const char *err = NULL;
        if (lg_viz_render_file(m, job->vo, job->outpath, &err) != 0) {
            say("cannot draw %s: %s", job->outpath, err ? err : "unknown error");
            rc = LG_EXIT_TOOL;
        }
    }
    lg_model_free(m);
    return rc;
}
#endif

static int cmd_graph(int argc, char **argv)
{
    const char *outpath = NULL;
#ifdef LG_HAVE_VIZ
    struct lg_viz_opts vo = { .kind = LG_VIZ_AUTO, .finding = -1, .all = 0 };
#endif
    static const struct option longopts[] = {
        { "output", required_argument, 0, 'o' },
        { "kind", required_argument, 0, 'k' },
        { "finding", required_argument, 0, 'n' },
        { "all", no_argument, 0, 'a' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int c, finding = -1, all = 0, kind = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': outpath = optarg; break;
        case 'k':
            if (!strcmp(optarg, "lock-order")) kind = 1;
            else if (!strcmp(optarg, "wait-for")) kind = 2;
            else return usage_error("--kind wants lock-order or wait-for, not '%s'", optarg);
            break;
        case 'n':
            if (parse_int(optarg, 0, INT_MAX, &finding))
                return usage_error("--finding wants a finding number (0, 1, ...), not '%s'", optarg);
            break;
        case 'a': all = 1; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case ':': return usage_error("option %s needs a value", argv[optind - 1]);
        default: return usage_error("graph: unknown option %s", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return usage_error("graph wants exactly one folder (lockgraph graph DIR -o FILE)");
    if (!outpath)
        return usage_error("graph wants -o FILE (.svg, .png, .pdf or .dot)");
    const char *dir = argv[optind];
#ifndef LG_HAVE_VIZ
    (void)finding; (void)all; (void)kind; (void)dir;
    say("this lockgraph was built without viz/ (Graphviz): no graphs");
    return LG_EXIT_TOOL;
#else
    if (check_trace_folder(dir) != 0)
        return LG_EXIT_TOOL;
    vo.kind = kind == 1 ? LG_VIZ_LOCK_ORDER : kind == 2 ? LG_VIZ_WAIT_FOR : LG_VIZ_AUTO;
    vo.finding = finding;
    vo.all = all;
    struct graph_job job = { .dir = dir, .outpath = outpath, .vo = &vo };
    return isolated(do_graph, &job, dir);
#endif
}

/* ---------------------------------------------------------------- main */

static void print_version(void)
{
    printf("lockgraph " LG_VERSION "\n");
    printf("features: supervise"
#ifdef LG_HAVE_VIZ
           " viz"
#endif
           "\n");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("no command given");
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(sub, "--version") || !strcmp(sub, "version")) {
        print_version();
        return 0;
    }
    if (!strcmp(sub, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(sub, "report") || !strcmp(sub, "graph"))
        reexec_argv = argv;   /* before getopt permutes it: the same command either way */
    if (!strcmp(sub, "report"))
        return cmd_report(argc - 1, argv + 1);
    if (!strcmp(sub, "graph"))
        return cmd_graph(argc - 1, argv + 1);
    return usage_error("unknown command '%s'", sub);
}
