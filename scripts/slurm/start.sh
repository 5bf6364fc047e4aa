#!/usr/bin/env bash
# Start a single-node SLURM test cluster on this machine (Debian 12, slurm 22.05, run as root).
#
#   bash scripts/slurm/start.sh      # install if needed, configure, start, wait for the node to be idle
#   bash scripts/slurm/stop.sh       # stop slurmd, slurmctld and munged
#
# Idempotent: re-running it with the daemons up and the config unchanged only re-checks the node.
# Everything listens on 127.0.0.1 only (slurmctld :6817, slurmd :6818, srun on 60001-60100; munged
# uses a unix socket). The node is named after `hostname -s`, which must resolve to a loopback
# address; if it does not resolve at all, a line "127.0.0.1 <host>" is added to /etc/hosts.
#
# Environment knobs:
#   SLURM_START_TIMEOUT  seconds to wait for the node to become idle (default 60)
set -euo pipefail

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

# True if the pid file names a live process whose command name is $2.
running() {
    local pidfile=$1 name=$2 pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
}

stop_pidfile() {
    local pidfile=$1 name=$2 pid i
    running "$pidfile" "$name" || { rm -f "$pidfile"; return 0; }
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        [ -d "/proc/$pid" ] || break
        sleep 0.2
    done
    if [ -d "/proc/$pid" ]; then
        log "$name ($pid) did not stop on SIGTERM, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
}

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
HOST=$(hostname -s)
[ -n "$HOST" ] || die "hostname -s printed nothing"
if ! getent hosts "$HOST" >/dev/null; then
    log "host name '$HOST' does not resolve; adding '127.0.0.1 $HOST' to /etc/hosts"
    echo "127.0.0.1 $HOST  # added by scripts/slurm/start.sh" >> /etc/hosts
fi
host_ip=$(getent ahostsv4 "$HOST" | awk 'NR==1 {print $1}')
case "$host_ip" in
    127.*) ;;
    *) die "host name '$HOST' resolves to '$host_ip', not to a loopback address; the daemons would" \
           "bind there (CommunicationParameters=NoInAddrAny). Map it to 127.0.0.1 in /etc/hosts." ;;
esac

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
for i in $(seq 1 50); do
    munge -n </dev/null | unmunge >/dev/null 2>&1 && break
    [ "$i" -eq 50 ] && die "munge credential round-trip failed"
    sleep 0.2
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
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
SrunPortRange=60001-60100
# Bind to the address the host name resolves to (127.0.0.1) instead of INADDR_ANY.
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
NodeName=$HOST NodeAddr=127.0.0.1 NodeHostname=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
# cgroup.conf is only read by cgroup plugins, none of which is configured; keep a stub so that
# nothing picks up a stale one.
cgroup_conf="$CONF_DIR/cgroup.conf"
[ -f "$cgroup_conf" ] && grep -q 'scripts/slurm/start.sh' "$cgroup_conf" || \
    printf '# Written by scripts/slurm/start.sh: cgroups are not used by the test cluster.\n' >"$cgroup_conf"

conf_changed=0
if ! cmp -s "$new_conf" "$CONF"; then
    conf_changed=1
    install -m 0644 "$new_conf" "$CONF"
    log "wrote $CONF (node $HOST, CPUs=$CPUS, RealMemory=$MEM)"
fi

# ---------------------------------------------------------------- 5. daemons
if [ "$conf_changed" -eq 1 ]; then
    # A running daemon would keep the old config: restart whatever is up.
    stop_pidfile "$SLURMD_PID" slurmd
    stop_pidfile "$CTLD_PID" slurmctld
fi
if ! running "$CTLD_PID" slurmctld; then
    log "starting slurmctld"
    # -i: ignore unreadable state files from an earlier run instead of refusing to start.
    slurmctld -i || die "slurmctld failed to start"
fi
if ! running "$SLURMD_PID" slurmd; then
    log "starting slurmd"
    slurmd -N "$HOST" || die "slurmd failed to start"
fi

# ---------------------------------------------------------------- 6. wait for the node
deadline=$((SECONDS + TIMEOUT))
state=""
last_resume=-100
while :; do
    state=$(sinfo -h -n "$HOST" -o '%T' 2>/dev/null | head -n1 || true)
    case "$state" in
        idle|mixed|allocated|completing) break ;;
        down*|drain*|fail*)
            # "down*" (not responding yet) cannot be resumed until slurmd registers; retry.
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
log "SLURM cluster up: node $HOST is $state (partition debug, $CPUS CPUs, ${MEM} MB)"
