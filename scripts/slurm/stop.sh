#!/usr/bin/env bash
# Stop the single-node SLURM test cluster started by scripts/slurm/start.sh:
# cancels remaining jobs, then stops slurmd, slurmctld and munged (by their pid files).
# Safe to run when nothing is running.
#
#   bash scripts/slurm/stop.sh
#   KEEP_MUNGE=1 bash scripts/slurm/stop.sh    # leave munged running
set -euo pipefail
exec </dev/null
export PATH="$PATH:/usr/sbin:/sbin"

log() { echo "slurm/stop.sh: $*" >&2; }

# True if process $1 exists and is not a zombie (PID 1 here may reap killed daemons late).
alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

running() {
    local pidfile=$1 name=$2 pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && alive "$pid"
}

stop_pidfile() {
    local pidfile=$1 name=$2 pid
    if ! running "$pidfile" "$name"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(cat "$pidfile")
    log "stopping $name ($pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 75); do
        alive "$pid" || break
        sleep 0.2
    done
    if alive "$pid"; then
        log "$name ($pid) still running after 15 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
}

# Cancel whatever is still queued or running, so no job steps outlive the daemons.
if running /run/slurmctld.pid slurmctld && command -v scancel >/dev/null 2>&1; then
    scancel --user=root >/dev/null 2>&1 || true
    for _ in $(seq 1 20); do
        [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
        sleep 0.5
    done
fi

stop_pidfile /run/slurmd.pid slurmd
stop_pidfile /run/slurmctld.pid slurmctld
if [ "${KEEP_MUNGE:-0}" != 1 ]; then
    stop_pidfile /run/munge/munged.pid munged
fi
log "stopped"
