# Process helpers shared by start.sh and stop.sh (sourced; the caller defines log()).

# True if process $1 exists and is not a zombie (PID 1 here may reap killed daemons late).
alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# True if the pid file names a live process whose command name is $2.
running() {
    local pidfile=$1 name=$2 pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && alive "$pid"
}

# Stop the daemon of a pid file: SIGTERM, then SIGKILL after 15 s.
stop_pidfile() {
    local pidfile=$1 name=$2 pid
    running "$pidfile" "$name" || { rm -f "$pidfile"; return 0; }
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
