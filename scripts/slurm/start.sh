#!/usr/bin/env bash
# Start a single-node SLURM test cluster on this machine (Debian 12, slurm 22.05, run as root).
#
#   bash scripts/slurm/start.sh      # install if needed, configure, start, wait for the node to be idle
#   bash scripts/slurm/stop.sh       # stop slurmd, slurmctld and munged
#
# Idempotent: re-running it with the daemons up and the config unchanged only re-checks the node.
# Everything listens on loopback only (slurmctld :6817, slurmd :6818, srun on 60001-60100; munged
# uses a unix socket). The node is named after `hostname -s`, which must resolve to 127.0.0.1 (as it
# does here); if it does not (unresolvable, or Debian's usual 127.0.1.1), a line "127.0.0.1 <host>" is
# put at the top of /etc/hosts -- see step 2.
#
# Environment knobs:
#   SLURM_START_TIMEOUT  seconds to wait for the node to become idle (default 60)
#   SLURM_START_SMOKE=0  skip the `srun hostname` smoke test run after (re)starting slurmd
set -euo pipefail
# CI runs with no standard input. A daemon started with fd 0 closed can get one of its own sockets as
# fd 0 and lose it when it daemonizes (srun steps then fail with "Unspecified error"): give everything
# started from here /dev/null as stdin.
exec </dev/null

TIMEOUT="${SLURM_START_TIMEOUT:-60}"
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
LOG_DIR=/var/log/slurm
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid
MUNGE_KEY=/etc/munge/munge.key

log() { echo "slurm/start.sh: $*" >&2; }
die() {
    log "ERROR: $*"
    for f in "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" /var/log/munge/munged.log; do
        if [ -f "$f" ]; then
            echo "----- tail -n 30 $f -----" >&2
            tail -n 30 "$f" >&2 || true
        fi
    done
    exit 1
}

[ "$(id -u)" -eq 0 ] || { log "ERROR: must run as root"; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/procs.sh"

# ---------------------------------------------------------------- 1. packages
need_install=0
for b in slurmctld slurmd sinfo srun sbatch munged mungekey; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || need_install=1
done
if [ "$need_install" -eq 1 ]; then
    log "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    # The package lists shipped with the image can be stale; refresh them once before installing.
    apt-get update -qq || log "apt-get update failed; trying the install with the existing lists"
    # There is no systemd/init here; keep maintainer scripts from trying to start the services.
    policy_created=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_created=1
    fi
    rc=0
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/tmp/slurm-apt-install.log 2>&1 || rc=$?
    [ "$policy_created" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ "$rc" -ne 0 ]; then
        tail -n 40 /tmp/slurm-apt-install.log >&2
        die "apt-get install slurm-wlm munge failed (exit $rc)"
    fi
fi
export PATH="$PATH:/usr/sbin:/sbin"

# ---------------------------------------------------------------- 2. host name
# With CommunicationParameters=NoInAddrAny the daemons and srun bind to the address the host name
# resolves to. That must be 127.0.0.1 exactly: connections to any 127.x leave from 127.0.0.1, and
# slurmstepd connects srun's I/O back to the address the launch request came from, so with the name
# on Debian's usual 127.0.1.1 srun listens on 127.0.1.1, is called back on 127.0.0.1 and fails.
HOST=$(hostname -s)
[ -n "$HOST" ] || die "hostname -s printed nothing"
resolve() { getent ahostsv4 "$HOST" 2>/dev/null | awk 'NR==1 {print $1}' || true; }
ADDR=$(resolve)
if [ "$ADDR" != 127.0.0.1 ]; then
    log "host name '$HOST' resolves to '${ADDR:-nothing}'; mapping it to 127.0.0.1 in /etc/hosts"
    # Written in place (not sed -i), so that a bind-mounted /etc/hosts works too; first match wins.
    hosts=$(cat /etc/hosts)
    printf '127.0.0.1 %s  # added by scripts/slurm/start.sh\n%s\n' "$HOST" "$hosts" >/etc/hosts
    ADDR=$(resolve)
    [ "$ADDR" = 127.0.0.1 ] || die "host name '$HOST' still resolves to '$ADDR', not 127.0.0.1 (check /etc/nsswitch.conf)"
fi

# ---------------------------------------------------------------- 3. munge
id munge >/dev/null 2>&1 || die "user 'munge' missing (is the munge package installed?)"
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s "$MUNGE_KEY" ]; then
    log "creating $MUNGE_KEY"
    if command -v mungekey >/dev/null 2>&1; then
        mungekey --create --keyfile="$MUNGE_KEY" --force
    else
        dd if=/dev/urandom bs=1 count=1024 of="$MUNGE_KEY" status=none
    fi
fi
chown munge:munge "$MUNGE_KEY"
chmod 0400 "$MUNGE_KEY"
if ! running "$MUNGE_PID" munged; then
    log "starting munged"
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    runuser -u munge -- munged --pid-file="$MUNGE_PID" \
        || die "munged failed to start"
fi
munge_deadline=$((SECONDS + 20))
until timeout 5 munge -n </dev/null 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$munge_deadline" ] && die "munge credential round-trip (munge -n | unmunge) failed"
    sleep 0.5
done

# ---------------------------------------------------------------- 4. slurm.conf
CPUS=$(nproc)
MEM_TOTAL=$(free -m | awk '/^Mem:/ {print $2}')
# Leave a margin: slurmd drains the node if it finds less memory than RealMemory says.
if [ "$MEM_TOTAL" -gt 4096 ]; then MEM=$((MEM_TOTAL - 1024)); else MEM=$((MEM_TOTAL * 9 / 10)); fi
DEF_MEM=$((MEM / CPUS))

install -d -m 0755 "$CONF_DIR" "$LOG_DIR"
install -d -m 0700 /var/spool/slurmctld /var/spool/slurmd

new_conf=$(mktemp)
trap 'rm -f "$new_conf"' EXIT
cat >"$new_conf" <<EOF
# Written by scripts/slurm/start.sh: single-node test cluster on loopback. Do not use in production.
ClusterName=ci
SlurmctldHost=$HOST($ADDR)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
SrunPortRange=60001-60100
# Bind to the address the host name resolves to (127.0.0.1, see step 2) instead of INADDR_ANY.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: plain process tracking, no task containment, no accounting.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$DEF_MEM
InactiveLimit=0
KillWait=10
MinJobAge=300
SlurmctldTimeout=60
SlurmdTimeout=60
Waittime=0
NodeName=$HOST NodeAddr=$ADDR NodeHostname=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

conf_changed=0
if ! cmp -s "$new_conf" "$CONF"; then
    conf_changed=1
    install -m 0644 "$new_conf" "$CONF"
    log "wrote $CONF (node $HOST at $ADDR, CPUs=$CPUS, RealMemory=$MEM)"
fi

# ---------------------------------------------------------------- 5. daemons
if [ "$conf_changed" -eq 1 ]; then
    # A running daemon would keep the old config: restart whatever is up.
    stop_pidfile "$SLURMD_PID" slurmd
    stop_pidfile "$CTLD_PID" slurmctld
fi
if ! running "$CTLD_PID" slurmctld; then
    log "starting slurmctld"
    # -c: start from a clean slate. Jobs and node states saved by an earlier run (possibly one that
    # crashed or was killed along with its machine session) are stale and would hold resources.
    slurmctld -c || die "slurmctld failed to start"
fi
started=0
if ! running "$SLURMD_PID" slurmd; then
    log "starting slurmd"
    started=$(date +%s)
    slurmd -N "$HOST" || die "slurmd failed to start"
fi

# ---------------------------------------------------------------- 6. wait for the node
# slurmctld restores the node's last state from its state files and notices a dead slurmd only after
# SlurmdTimeout, so "idle" alone proves little: ask for responding nodes only (sinfo -r) and, if slurmd
# was started just now, wait until it has registered (SlurmdStartTime not older than its start).
registered() {
    [ "$started" -eq 0 ] && return 0
    local t
    t=$(scontrol show node "$HOST" 2>/dev/null | sed -n 's/.*SlurmdStartTime=\([^ ]*\).*/\1/p')
    [ -n "$t" ] && [ "$t" != None ] && [ "$(date -d "$t" +%s 2>/dev/null || echo 0)" -ge $((started - 1)) ]
}
deadline=$((SECONDS + TIMEOUT))
state=""
last_resume=-100
while :; do
    state=$(sinfo -r -h -n "$HOST" -o '%T' 2>/dev/null | head -n1 || true)
    case "$state" in
        idle|mixed|allocated|completing) registered && break ;;
        down*|drain*|fail*)
            # Responding but down/drained (e.g. drained in an earlier run): resume it, retrying.
            if [ $((SECONDS - last_resume)) -ge 5 ]; then
                log "node $HOST is '$state'; resuming it"
                scontrol update nodename="$HOST" state=resume 2>/dev/null || true
                last_resume=$SECONDS
            fi ;;
    esac
    if [ "$SECONDS" -ge "$deadline" ]; then
        sinfo -N -l >&2 || true
        scontrol show node "$HOST" >&2 || true
        die "node $HOST not idle after ${TIMEOUT}s (state: '${state:-no answer from slurmctld}')"
    fi
    sleep 1
done
# End-to-end smoke test after a (re)start: a one-task job step must run right away.
if [ "$started" -ne 0 ] && [ "${SLURM_START_SMOKE:-1}" = 1 ]; then
    err=$(mktemp)
    out=$(cd /tmp && timeout 60 srun -N1 -n1 --immediate=30 -t 1 -J start-smoke hostname -s </dev/null 2>"$err") \
        || die "smoke test 'srun -N1 hostname' failed: $(cat "$err")"
    rm -f "$err"
    [ "$out" = "$HOST" ] || die "smoke test 'srun -N1 hostname' printed '$out', expected '$HOST'"
fi
log "SLURM cluster up: node $HOST ($ADDR) is $state (partition debug, $CPUS CPUs, ${MEM} MB)"
