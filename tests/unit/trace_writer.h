/* SPDX-License-Identifier: MIT */
/*
 * trace_writer.h — a small synthetic-trace writer for the unit tests:
 * builds trace-<pid>-<seq>.lgt files record by record with the structs of
 * trace/lg_trace.h, so the analyzer can be tested without running the shim.
 */
#ifndef LG_TEST_TRACE_WRITER_H
#define LG_TEST_TRACE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lg_trace.h"

struct tw;

/* A fresh empty folder under /tmp (caller frees the string). */
char *tw_tmpdir(void);
/* rm -r of a folder made by tw_tmpdir. */
void tw_rmdir(char *dir);

struct tw *tw_open(const char *dir, int pid, int ppid, unsigned exec_seq, uint64_t start_ns);
void tw_set_exe(struct tw *w, const char *exe);
void tw_set_flags(struct tw *w, uint32_t flags);
void tw_set_fork(struct tw *w, uint64_t fork_ns, int parent_tid);

/* Any record: header + payload (padded to 8). */
void tw_record(struct tw *w, uint16_t kind, int tid, uint64_t time, const void *payload, size_t len);

void tw_module(struct tw *w, uint64_t base, uint64_t lo, uint64_t hi, const char *path);
void tw_stack(struct tw *w, uint32_t id, const uint64_t *pcs, uint32_t n);
void tw_pystack(struct tw *w, uint32_t id, const char *file, int line, const char *func);
void tw_lock(struct tw *w, uint64_t time, uint64_t lock_id, uint64_t addr, int kind,
             uint32_t site_stack, const char *name);
void tw_lock_full(struct tw *w, uint64_t time, const struct lg_rec_lock_new *l, const char *name);

/* A DEP: tid took `lock` (mode/flags) while holding held[0..nheld). */
void tw_dep(struct tw *w, int tid, uint64_t time, uint64_t lock, uint16_t mode, uint16_t flags,
            uint32_t stack, const struct lg_held *held, uint32_t nheld);
/* Shorthand: write-mode, no flags, held ids in order, no stacks. */
void tw_dep_ids(struct tw *w, int tid, uint64_t time, uint64_t lock, const uint64_t *held,
                uint32_t nheld, uint16_t flags);

void tw_thread_start(struct tw *w, int tid, uint64_t time, int creator);
void tw_thread_exit(struct tw *w, int tid, uint64_t time, uint32_t how);
void tw_join(struct tw *w, int tid, uint64_t time, int joined);
/* The same, with the pthread_t value (a JOIN may carry only that). */
void tw_thread_start_pt(struct tw *w, int tid, uint64_t time, int creator, uint64_t pthread);
void tw_join_pt(struct tw *w, int tid, uint64_t time, int joined, uint64_t pthread);
void tw_held_at(struct tw *w, int tid, uint64_t time, uint64_t lock, uint32_t stack, uint16_t how);
void tw_misuse(struct tw *w, int tid, uint64_t time, uint32_t kind, uint64_t lock,
               uint32_t stack, uint64_t other, int64_t extra, int err);
void tw_wait(struct tw *w, int tid, uint64_t time, int pid);
void tw_proc_exit(struct tw *w, int tid, uint64_t time, uint32_t how, int status);

/* Write the file. clean: set CLEAN_END and end_offset. Returns its path
 * (caller frees) or NULL. */
char *tw_close(struct tw *w, bool clean);

#endif
