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

source "$(dirname "${BASH_SOURCE[0]}")/procs.sh"

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
