#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end checks of live hang detection. Each case runs one program of
# tests/hang/progs under the supervisor and checks the diagnosis (kind,
# threads, pipe numbers, lines), not only that it stopped.
#   e2e.sh CASE HANG_DRIVE PROGDIR [LOCKGRAPH]
set -u
case_name=$1 drive=$2 bin=$3 lg=${4:-}
src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/lg-hang-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL [$case_name]: $*"; echo "--- output"; cat "$work/out" 2>/dev/null; exit 1; }
has() { grep -Eq -- "$1" "$work/out" || fail "expected /$1/"; }
hasnt() { ! grep -Eq -- "$1" "$work/out" || fail "unexpected /$1/"; }
elapsed() { sed -n 's/.*elapsed=\([0-9.]*\).*/\1/p' "$work/out"; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

drive() { "$drive" "$@" >"$work/out" 2>&1 || fail "hang_drive exited $?"; }
# lockgraph run: exit status into $work/rc, stdout+stderr into out.
lgrun() {
    [ -n "$lg" ] || exit 77
    # Without the shim next to it, lockgraph run records nothing to report.
    [ -e "$(dirname "$lg")/../lib/liblockgraph.so" ] || { echo "skip: no liblockgraph.so"; exit 77; }
    "$lg" run -o "$work/lg.out" "$@" >"$work/out" 2>&1
    echo $? >"$work/rc"
}

case $case_name in
deadlock_abba)
    drive --hang-timeout 5 "$work/o" -- "$bin/hang_abba"
    has 'hung=1'; has '^verdict deadlock'
    has 'signaled=1 sig=9'
    # Two threads and two locks on the cycle, each waiting on the other.
    [ "$(grep -c '^node .* thread .* cycle$' "$work/out")" = 2 ] || fail "two threads on the cycle"
    [ "$(grep -c '^node .* lock .* cycle$' "$work/out")" = 2 ] || fail "two locks on the cycle"
    [ "$(grep -c '^edge .* holds certain cycle$' "$work/out")" = 2 ] || fail "two owned locks"
    lt "$(elapsed)" 4.0 || fail "deadlock took $(elapsed) s: not found before the 5 s timeout"
    ;;
deadlock_ring)
    drive --hang-timeout 5 "$work/o" -- "$bin/hang_ring" 5
    has '^verdict deadlock'
    [ "$(grep -c '^node .* thread .* cycle$' "$work/out")" = 5 ] || fail "five threads on the ring"
    lt "$(elapsed)" 4.0 || fail "took $(elapsed) s: not found before the 5 s timeout"
    ;;
jbd_fork)
    drive --hang-timeout 2 "$work/o" -- "$bin/hang_bigput_fork"
    has '^verdict join-before-drain'
    has 'op=9 sys=61 .*wchan=do_wait'                 # the parent in waitpid
    has 'op=11 sys=1 .*pipe_write'                    # the child writing
    has 'pipe .* queued=65536 capacity=65536 requested=262144 cycle'
    has '^jbd waiter='
    lt "$(elapsed)" 5.0 || fail "took $(elapsed) s with a 2 s timeout"
    awk -v e="$(elapsed)" 'BEGIN { exit !(e >= 2.0) }' || fail "reported before the timeout"
    ;;
jbd_thread)
    drive --hang-timeout 2 "$work/o" -- "$bin/hang_bigput_thread"
    has '^verdict join-before-drain'
    has 'op=8 sys=202'                                # main in pthread_join
    has 'requested=1048576'
    has '^edge .* joins certain cycle'
    ;;
healthy_sleep)
    drive --hang-timeout 1 "$work/o" -- "$bin/hang_slow_ok"
    has 'hung=0 exited=1 code=0'; hasnt '^verdict'
    ;;
healthy_pipe_compute)
    drive --hang-timeout 1 "$work/o" -- "$bin/hang_pipe_compute" 3
    has 'hung=0 exited=1 code=0'; hasnt '^verdict'
    ;;
hang_sem_procs)
    # Without the shim nobody owns a semaphore: a plain hang after the timeout.
    drive --hang-timeout 2 "$work/o" -- "$bin/hang_sem_procs"
    has 'hung=1'; has '^verdict (hang|deadlock)'
    [ "$(grep -c '^node .* thread ' "$work/out")" = 2 ] || fail "both processes' threads"
    ;;
deadlock_pshared_mutex)
    # /proc alone: the owner of a process-shared mutex is in its word.
    drive --hang-timeout 5 "$work/o" -- "$bin/hang_pshared_mutex"
    has '^verdict deadlock'
    [ "$(grep -c '^node .* thread .* cycle$' "$work/out")" = 2 ] || fail "two threads on the cycle"
    lt "$(elapsed)" 4.0 || fail "took $(elapsed) s: not found before the 5 s timeout"
    ;;
deadlock_flock)
    # /proc alone: holders of flock(2) locks from /proc/locks.
    drive --hang-timeout 5 "$work/o" -- "$bin/hang_flock_procs" flock "$work"
    has '^verdict deadlock'
    [ "$(grep -c '^edge .* holds certain cycle$' "$work/out")" = 2 ] || fail "two held file locks"
    lt "$(elapsed)" 4.0 || fail "took $(elapsed) s: not found before the 5 s timeout"
    ;;
hang_poll_unwound)
    drive --hang-timeout 1 "$work/o" -- "$bin/hang_poll_self"
    has '^verdict hang'
    has 'sys=7 state=S'
    has '^frame 0 #[0-9]+ [^ ]*poll_self\.c:14 main$'
    ;;
no_kill)
    # --on-hang wait: reported, left running; then we end it ourselves.
    "$drive" --hang-timeout 1 --no-kill "$work/o" -- "$bin/hang_bigput_fork" >"$work/out" 2>&1 &
    dpid=$!
    for _ in $(seq 40); do [ -f "$work/o/hang.lgt" ] && break; sleep 0.25; done
    sleep 0.5
    kids=$(cat /proc/$dpid/task/*/children 2>/dev/null)
    [ -f "$work/o/hang.lgt" ] || { kill -KILL $dpid $kids; fail "no hang.lgt after the timeout"; }
    kill -0 $dpid 2>/dev/null || fail "the driver returned: the tree was ended"
    [ -n "$kids" ] || { kill -KILL $dpid; fail "the program was killed"; }
    for k in $kids; do kill -KILL $(cat /proc/$k/task/*/children 2>/dev/null) $k 2>/dev/null; done
    wait $dpid
    has 'hung=1'
    ;;
cli_deadlock_abba)
    lgrun --hang-timeout 5 -- "$bin/hang_abba"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: deadlock: .*abba\.c:15'; has 'error: deadlock: .*abba\.c:25'
    ;;
cli_jbd_fork)
    lgrun --hang-timeout 2 -- "$bin/hang_bigput_fork"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: join-before-drain: process [0-9]+ waits for child [0-9]+ \(waitpid at [^ ]*bigput_fork\.c:25\)'
    has 'write at [^ ]*bigput_fork\.c:20, 65536 of 262144 bytes sent, pipe full'
    ;;
cli_jbd_thread)
    lgrun --hang-timeout 2 -- "$bin/hang_bigput_thread"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: join-before-drain: .*pthread_join at [^ ]*bigput_thread\.c:25'
    has 'write at [^ ]*bigput_thread\.c:14, 65536 of 1048576 bytes sent, pipe full'
    ;;
cli_healthy_sleep)
    lgrun --hang-timeout 1 -- "$bin/hang_slow_ok"
    [ "$(cat "$work/rc")" = 0 ] || fail "exit status $(cat "$work/rc"), want 0"
    hasnt 'error: (deadlock|hang|join-before-drain)'
    ;;
cli_healthy_pipe_compute)
    lgrun --hang-timeout 1 -- "$bin/hang_pipe_compute" 3
    [ "$(cat "$work/rc")" = 0 ] || fail "exit status $(cat "$work/rc"), want 0"
    hasnt 'error: (deadlock|hang|join-before-drain)'
    ;;
cli_sem_procs)
    lgrun --hang-timeout 5 -- "$bin/hang_sem_procs"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: deadlock: .*sem_procs\.c:32'; has 'error: deadlock: .*sem_procs\.c:25'
    ;;
cli_cond_lost)
    lgrun --hang-timeout 2 -- "$bin/hang_cond_lost"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: hang: all 1 thread of the program waited'
    has 'blocked in pthread_cond_wait at [^ ]*cond_lost\.c:25, waiting for a signal'
    hasnt 'error: deadlock'
    ;;
cli_py_bigput_queue)
    py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || exit 77
    lgrun --hang-timeout 3 -- "$py" "$src/py/bigput_queue.py"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'join-before-drain: process [0-9]+ waits for child [0-9]+ \(Process\.join at bigput_queue\.py:17\)'
    has 'blocked in Thread\.join at .*held by thread'
    has 'write at connection\.py:[0-9]+, [0-9]+ of 1000009 bytes sent, pipe full'
    ;;
cli_py_abba)
    py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || exit 77
    lgrun --hang-timeout 5 -- "$py" "$src/py/abba_threads.py"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: deadlock: .*abba_threads\.py:13'; has 'error: deadlock: .*abba_threads\.py:20'
    ;;
cli_py_abba_mp)
    # Across processes: named semaphores shared through fork.
    py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || exit 77
    lgrun --hang-timeout 5 -- "$py" "$src/py/abba_mp_hang.py"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: deadlock: .*sem_wait at abba_mp_hang\.py:21'; has 'error: deadlock: .*sem_wait at abba_mp_hang\.py:10'
    ;;
cli_pshared_mutex)
    lgrun --hang-timeout 5 -- "$bin/hang_pshared_mutex"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: deadlock: .*pshared_mutex\.c:28'; has 'error: deadlock: .*pshared_mutex\.c:35'
    ;;
cli_py_abba_heartbeat)
    # A sleeping heartbeat thread: the deadlock is still found (in ~1 s).
    py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || exit 77
    lgrun --hang-timeout 10 -- "$py" "$src/py/abba_heartbeat.py"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: deadlock: .*abba_heartbeat\.py:20'; has 'error: deadlock: .*abba_heartbeat\.py:27'
    ;;
cli_flock)
    lgrun --hang-timeout 5 -- "$bin/hang_flock_procs" flock "$work"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: deadlock: .*waits for file lock on lg-flock-b.*waits for file lock on lg-flock-a'
    has 'waiting for file lock on lg-flock-a[^ ]* held by process [0-9]+'
    ;;
cli_fcntl)
    # The kernel refuses the second record lock (EDEADLK); the parent then
    # waits for its child while still holding the lock the child wants.
    lgrun --hang-timeout 5 -- "$bin/hang_flock_procs" fcntl "$work"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: deadlock: .*waitpid at [^ ]*flock_procs\.c:54'
    has 'waiting for file lock on lg-flock-a[^ ]* held by process [0-9]+'
    ;;
cli_pipe_cross)
    lgrun --hang-timeout 2 -- "$bin/hang_pipe_cross"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: hang: all 2 threads of the program waited .* in a cycle of waits'
    [ "$(grep -cE 'blocked in write at [^ ]*pipe_cross\.c:13, writing into pipe [0-9]+ \(65536 of 65536 bytes queued\); read end held by process [0-9]+$' "$work/out")" = 2 ] ||
        fail "both writers, each with the process that holds the read end"
    hasnt 'join-before-drain'
    ;;
cli_poll_unwound)
    lgrun --hang-timeout 1 -- "$bin/hang_poll_self"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: hang: all 1 thread'
    has 'blocked in poll at [^ ]*poll_self\.c:14'
    ;;
cli_py_subprocess_wait)
    py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || exit 77
    lgrun --hang-timeout 2 -- "$py" "$src/py/subprocess_wait.py"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: join-before-drain: process [0-9]+ waits for child [0-9]+ \(waitpid at subprocess_wait\.py:7\)'
    has '\(write in head, 65536 bytes in the pipe, pipe full'
    ;;
cli_py_slow_ok)
    py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || exit 77
    lgrun --hang-timeout 1 -- "$py" "$src/py/slow_ok.py"
    [ "$(cat "$work/rc")" = 0 ] || fail "exit status $(cat "$work/rc"), want 0"
    hasnt 'error: (deadlock|hang|join-before-drain)'
    ;;
cli_risk_fork)
    lgrun -- "$bin/hang_smallput_fork"
    [ "$(cat "$work/rc")" = 0 ] || fail "exit status $(cat "$work/rc"), want the program's 0 (warnings only)"
    has 'warning: join-before-drain-risk: process [0-9]+ waited for child [0-9]+ \(waitpid at [^ ]*smallput_fork\.c:30\) while the 1000 bytes'
    has 'write at [^ ]*smallput_fork\.c:21'; has 'read at [^ ]*smallput_fork\.c:32, after the wait'
    ;;
cli_risk_fork_clean)
    lgrun -- "$bin/hang_smallput_fork" drain
    [ "$(cat "$work/rc")" = 0 ] || fail "exit status $(cat "$work/rc"), want 0"
    hasnt 'join-before-drain'
    ;;
cli_risk_thread)
    lgrun -- "$bin/hang_smallput_thread"
    [ "$(cat "$work/rc")" = 0 ] || fail "exit status $(cat "$work/rc"), want 0"
    has 'warning: join-before-drain-risk: thread T1 joined thread T2 \(pthread_join at [^ ]*smallput_thread\.c:30\) while the 1000 bytes'
    has 'write at [^ ]*smallput_thread\.c:15'; has 'read at [^ ]*smallput_thread\.c:32, after the join'
    ;;
cli_risk_thread_clean)
    lgrun -- "$bin/hang_smallput_thread" drain
    [ "$(cat "$work/rc")" = 0 ] || fail "exit status $(cat "$work/rc"), want 0"
    hasnt 'join-before-drain'
    ;;
cli_garbled_record)
    # A cut or overwritten hang.lgt must give a report, never a crash.
    lgrun --hang-timeout 5 -- "$bin/hang_abba"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    size=$(stat -c %s "$work/lg.out/hang.lgt")
    cp "$work/lg.out/hang.lgt" "$work/whole"
    for cut in 4200 4500 5000 $((size - 40)); do
        head -c "$cut" "$work/whole" >"$work/lg.out/hang.lgt"
        "$lg" report "$work/lg.out" >"$work/out" 2>&1; rc=$?
        [ $rc -lt 128 ] || fail "report crashed (status $rc) on hang.lgt cut at $cut bytes"
    done
    for off in 4130 4200 4400 4700; do
        cp "$work/whole" "$work/lg.out/hang.lgt"
        printf '\377\377\377\177\377\377\377\177' | dd of="$work/lg.out/hang.lgt" bs=1 seek="$off" conv=notrunc 2>/dev/null
        "$lg" report "$work/lg.out" >"$work/out" 2>&1; rc=$?
        [ $rc -lt 128 ] || fail "report crashed (status $rc) on hang.lgt overwritten at $off"
    done
    ;;
cli_py_self_deadlock)
    # A threading.Lock re-acquired by its holder: one self-deadlock finding,
    # both lines (the blocking acquire, where it was taken first).
    py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || exit 77
    lgrun --hang-timeout 2 -- "$py" "$src/../../samples/python/self_deadlock.py"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'self_deadlock\.py:14: error: self-deadlock: thread T2 \(tid [0-9]+\) waits for cache_lock \(acquire at self_deadlock\.py:14\), which it already holds \(taken at self_deadlock\.py:19\)'
    [ "$(grep -c 'error:' "$work/out")" = 1 ] || fail "one error finding"
    ;;
cli_py_cond_lost)
    # Condition.wait blocks on a waiter lock its own thread took: not a
    # self-deadlock, the lost notify is a hang.
    py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || exit 77
    lgrun --hang-timeout 2 -- "$py" "$src/py/cond_lost.py"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'error: hang: all 2 threads'
    has 'cond_lost\.py:13'
    hasnt 'self-deadlock'
    ;;
cli_self_deadlock_mutex)
    # A normal mutex relocked by its owner: the shim's MISUSE record and the
    # supervisor's one-thread cycle make one finding, not two.
    lgrun --hang-timeout 2 -- "$(dirname "$lg")/../samples/c/self_deadlock_hang"
    [ "$(cat "$work/rc")" = 66 ] || fail "exit status $(cat "$work/rc"), want 66"
    has 'self_deadlock_hang\.c:18: error: self-deadlock: thread T1 \(tid [0-9]+\) waits for stats_lock \(acquire at [^ ]*self_deadlock_hang\.c:18\), which it already holds'
    [ "$(grep -c 'error:' "$work/out")" = 1 ] || fail "one error finding"
    hasnt 'error: deadlock'
    ;;
cli_py_risk_queue)
    py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || exit 77
    lgrun -- "$py" "$src/py/smallput_queue.py"
    [ "$(cat "$work/rc")" = 0 ] || fail "exit status $(cat "$work/rc"), want 0"
    has 'warning: join-before-drain-risk: .*waitpid at smallput_queue\.py:22.*read at smallput_queue\.py:23'
    ;;
cli_py_risk_clean)
    py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || exit 77
    lgrun -- "$py" "$src/py/smallput_queue.py" drain
    [ "$(cat "$work/rc")" = 0 ] || fail "exit status $(cat "$work/rc"), want 0"
    hasnt 'join-before-drain'
    ;;
*)
    echo "unknown case $case_name"; exit 2 ;;
esac
echo "ok [$case_name]"
