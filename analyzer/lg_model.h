/* SPDX-License-Identifier: MIT */
/*
 * lg_model.h — the model the analyzer builds from a trace folder, and the
 * findings it derives. This is the boundary: reports (text, JSON, SARIF,
 * HTML) and viz/ read only this header, never the trace format.
 * All strings and arrays are owned by the model (lg_model_free).
 */
#ifndef LG_MODEL_H
#define LG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A symbolized source location. file/function may be NULL when unknown
 * (then module + pc identify it). Python frames have pc == 0, python = true. */
struct lg_loc {
    char *file;          /* as found in DWARF / co_filename; basename for display is the reporter's job */
    int line;            /* 0 unknown */
    char *function;
    char *module;        /* shared object or executable path, NULL for Python frames */
    uint64_t pc;
    bool python;
};

/* A stack: native frames innermost first, and Python frames when the
 * interpreter was on the stack. The "user frame" is the first frame that
 * is neither the shim, libc/libpthread, nor interpreter internals. */
struct lg_stack {
    uint32_t n;
    struct lg_loc *frames;
    uint32_t npy;
    struct lg_loc *py;   /* innermost first */
    int user;            /* index into py (if npy) else frames of the user frame, -1 none */
};

struct lg_process {
    int idx;
    int pid, ppid;
    unsigned exec_seq;
    int parent;          /* index of the parent process in the model, -1 */
    char *exe;
    int argc;
    char **argv;
    uint64_t start_ns, end_ns;   /* end 0: did not end cleanly */
    int end_how;         /* enum lg_end_how, 0 unknown */
    int exit_status;
    bool truncated;      /* trace was cut short (crash, full, garbled) */
    bool python;
    uint64_t fork_ns;    /* fork child: when the parent forked it, else 0 */
    uint64_t reaped_ns;  /* when a wait*() in its parent reaped it, 0 if never seen */
};

struct lg_thread {
    int idx;
    int process;
    int tid;
    char *name;          /* "T1", "T2"... by first appearance; "main" thread is T1 of its process */
    int creator;         /* thread index, -1 */
    struct lg_stack *created_at;
    uint64_t start_ns, end_ns;   /* end 0: still alive at the end of the trace */
    int joined_by;       /* thread index, -1 */
    uint64_t joined_ns;
    int end_how;         /* enum lg_end_how of THREAD_EXIT, 0 if none seen */
};

struct lg_lock {
    int idx;
    char *name;          /* variable name ("mutexA"), or kind@site ("mutex at bank.c:12 #2") */
    int kind;            /* enum lg_lock_kind (trace/lg_trace.h) */
    uint32_t subtype;
    int sem_value;
    int process;         /* owning process, -1 when shared between processes */
    bool shared;
    uint64_t addr;
    struct lg_stack *created_at;   /* may be NULL */
};

/* One observed way an edge from -> to was made: a thread took `to` while
 * holding `from` (and possibly other locks: `gates`). */
struct lg_witness {
    int thread;
    uint16_t mode;       /* mode of the acquisition of `to` (enum lg_acq_mode) */
    uint16_t flags;      /* enum lg_acq_flags of the acquisition of `to` */
    uint16_t held_mode;  /* mode `from` was held in */
    struct lg_stack *acquired_at;   /* where `to` was taken */
    struct lg_stack *held_at;       /* where `from` was taken */
    int *gates;          /* other locks held at the time (lock indexes); when the
                            thread held many (more than 16), all its held locks,
                            `from` included, in one array shared by the witnesses
                            of that acquisition */
    int ngates;
    uint64_t count;
    uint64_t time_ns;
};

struct lg_edge {
    int idx;
    int from, to;
    struct lg_witness *w;
    int nw;
    int nw_seen;         /* witnesses in the trace; nw < nw_seen only in huge traces
                            (over 2M witnesses), where edges on no cycle keep none
                            (nw == 0, w == NULL) and the others keep all */
};

enum lg_severity { LG_SEV_ERROR = 0, LG_SEV_WARNING = 1, LG_SEV_NOTE = 2 };

#define LG_FINDING_KINDS(X)                                  \
    X(LOCK_ORDER_CYCLE, "lock-order-cycle")                  \
    X(DEADLOCK, "deadlock")                                  \
    X(HANG, "hang")                                          \
    X(JOIN_BEFORE_DRAIN, "join-before-drain")                \
    X(JOIN_BEFORE_DRAIN_RISK, "join-before-drain-risk")      \
    X(UNRELEASED_LOCK, "unreleased-lock")                    \
    X(UNLOCK_NOT_OWNER, "unlock-not-owner")                  \
    X(UNLOCK_UNLOCKED, "unlock-unlocked")                    \
    X(SELF_DEADLOCK, "self-deadlock")                        \
    X(DESTROY_LOCKED, "destroy-locked")                      \
    X(COND_WAIT_MISUSE, "cond-wait-misuse")                  \
    X(SEMAPHORE_OVERPOST, "semaphore-overpost")              \
    X(LOCK_DISCIPLINE_RACE, "lock-discipline-race")

enum lg_finding_kind {
#define LG_X_FK(name, str) LG_FK_##name,
    LG_FINDING_KINDS(LG_X_FK)
#undef LG_X_FK
    LG_FK_MAX
};

/* One step of a cycle or wait chain: at this step `thread` holds
 * `lock` (taken at held_at) and wants the next step's lock. */
struct lg_step {
    int lock;
    int edge;            /* edge from this step's lock to the next one, -1 */
    int witness;         /* index into edges[edge].w, -1 */
    int thread;
};

/* One actor's use of the file of a lock-discipline-race: its accesses
 * within one open..close session, between two of its synchronisation
 * points (fork, thread create, join, wait). */
struct lg_race_session {
    int thread;          /* model thread index, -1 */
    int process;         /* model process index, -1 */
    uint64_t start_ns, end_ns;   /* first and last call (CLOCK_MONOTONIC) */
    int nreads, nwrites; /* calls */
    char *held;          /* locks held at every call, worded ("lock_a, flock on db.txt"); NULL: none */
    struct lg_loc open_at, access_at;   /* the open, the first read or write; file/function NULL when unknown */
    bool overlapping;    /* races with another actor's session: not ordered, no common lock */
};

struct lg_finding {
    int idx;
    enum lg_finding_kind kind;
    enum lg_severity severity;
    char *message;       /* one line, no location prefix */
    char *reason;        /* for downgraded cycles: why it is not an error; else NULL */
    struct lg_loc *locations;   /* every source line the finding rests on, most useful first */
    int nloc;
    struct lg_step *steps;      /* cycle / chain, rotated to start at the smallest lock idx */
    int nsteps;
    int *threads;        /* threads involved */
    int nthreads;
    int process;         /* -1 if several */
    char **details;      /* extra lines for the text report (already worded) */
    int ndetails;
    struct lg_stack **stacks;   /* full stacks behind the finding, for JSON/HTML */
    int nstacks;
    struct lg_race_session *sessions;   /* lock-discipline-race: the file's sessions, by start time */
    int nsessions;
    char *race_file;     /* lock-discipline-race: the file, by the path the program used */
};

/* Wait-for graph at a hang (filled from the supervisor's record). */
enum lg_wf_node_kind { LG_WF_THREAD, LG_WF_LOCK, LG_WF_PIPE, LG_WF_PROCESS, LG_WF_OTHER };
struct lg_wf_node {
    enum lg_wf_node_kind kind;
    char *label;
    int process;         /* for threads: process index to group by; -1 */
    int ref;             /* thread or lock index, -1 */
    bool on_cycle;
};
enum lg_wf_edge_kind { LG_WF_HOLDS, LG_WF_WAITS_FOR };
struct lg_wf_edge {
    int from, to;        /* node indexes; HOLDS: lock -> owner thread; WAITS_FOR: thread -> object */
    enum lg_wf_edge_kind kind;
    char *label;         /* source line */
    bool on_cycle;
};
struct lg_waitfor {
    struct lg_wf_node *nodes;
    int nnodes;
    struct lg_wf_edge *edges;
    int nedges;
};

struct lg_model {
    char *dir;
    struct lg_process *procs;   int nprocs;
    struct lg_thread *threads;  int nthreads;
    struct lg_lock *locks;      int nlocks;
    struct lg_edge *edges;      int nedges;
    struct lg_finding *findings; int nfindings;   /* sorted: severity, then kind, then location */
    struct lg_waitfor *waitfor; /* NULL unless the run hung */
    char **skipped;      /* what could not be read and why (one line each) */
    int nskipped;
    uint64_t lock_ops;   /* sum of dep counts: acquisitions seen with something held */
    bool hung;
    struct lg_model_priv *priv;  /* the analyzer's own state (analyzer/lg_analyze.h) */
};

/* Build the model from a trace folder. Returns 0 or a negative errno;
 * on error *err names the problem in one line (static or model-owned). */
int lg_model_load(const char *dir, struct lg_model **out, const char **err);
/* The same, for a caller that needs less of the model (flags below).
 * LG_LOAD_TEXT: only lg_report_text will read it. When there is no
 * finding, stacks and lock names are then left unresolved (the text
 * report shows only counts): no debug information is read at all. With
 * findings, the model is the same as lg_model_load's. */
enum { LG_LOAD_TEXT = 1 };
int lg_model_load_opts(const char *dir, unsigned flags, struct lg_model **out, const char **err);
void lg_model_free(struct lg_model *m);

const char *lg_finding_kind_name(enum lg_finding_kind k);
const char *lg_severity_name(enum lg_severity s);
int lg_model_count(const struct lg_model *m, enum lg_severity s);

/* Reports (analyzer/report_*.c). */
void lg_report_text(const struct lg_model *m, FILE *out);
void lg_report_json(const struct lg_model *m, FILE *out);

#endif /* LG_MODEL_H */
