#!/usr/bin/env bash
# A real single-node Slurm cluster on loopback, for CI and for trying deploy/slurm/ on one
# machine. Needs root and the Debian packages (no systemd: the daemons are started by hand):
#
#   apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
#   scripts/slurm-local.sh start     # idempotent; returns once the node is idle
#   sbatch ... ; squeue ; sinfo      # the usual clients, no extra environment needed
#   scripts/slurm-local.sh status    # exit 0 when munged, slurmctld and an idle/busy node answer
#   scripts/slurm-local.sh stop      # cancels jobs, stops the daemons, removes state and config
#
# Environment:
#   SLURM_CONF          config file to write (default /etc/slurm/slurm.conf, where the clients
#                       look); an existing file not written by this script is never overwritten
#   SLURM_LOCAL_DIR     state, spool, pid and log files (default /var/spool/slurm-local)
#   SLURM_LOCAL_TIMEOUT seconds to wait for the node to become idle (default 60)
#
# Choices: one node named after `hostname -s` at 127.0.0.1 (no DNS needed), its CPUs/sockets/cores
# as `slurmd -C` reports them, cons_tres with CR_Core so array tasks share the cores one CPU each,
# no cgroups (proctrack/linuxproc, task/none: containers rarely allow cgroup control), no
# accounting database (query jobs with squeue/scontrol, not sacct). Memory is not consumable
# (CR_Core): --mem is only checked against the node's size. Jobs of root are allowed. munged
# runs as the munge user (it refuses root without --force); `stop` ends it only if `start` began it.
set -euo pipefail

conf="${SLURM_CONF:-/etc/slurm/slurm.conf}"
dir="${SLURM_LOCAL_DIR:-/var/spool/slurm-local}"
timeout="${SLURM_LOCAL_TIMEOUT:-60}"
marker='# Written by retrace scripts/slurm-local.sh'
node="$(hostname -s)"
export SLURM_CONF="$conf"

die() { echo "slurm-local.sh: $*" >&2; exit 1; }

need_tools() {
  [[ "$(id -u)" == 0 ]] || die "run as root (slurmd must be root to start jobs)"
  export PATH="$PATH:/usr/sbin"
  local t
  for t in munged munge unmunge slurmctld slurmd sinfo scontrol; do
    command -v "$t" >/dev/null ||
      die "$t is missing (Debian: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge)"
  done
}

pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  munge_ok && return 0
  # The package's postinst creates the key; a hand-made machine may lack it. munged refuses a
  # key readable by others or owned by another user than the one it runs as (munge).
  if [[ ! -s /etc/munge/munge.key ]]; then
    install -d -o munge -g munge -m 0700 /etc/munge
    mungekey --create --keyfile=/etc/munge/munge.key
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  # systemd would create the socket folder (RuntimeDirectory=munge); by hand we must.
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- munged
  # Remembered so that `stop` ends only a munged it started, not one other software relies on.
  mkdir -p "$dir" && touch "$dir/started-munged"
  local i
  for i in $(seq 50); do munge_ok && return 0; sleep 0.1; done
  tail -n 20 /var/log/munge/munged.log >&2 || true
  die "munged did not start (log above)"
}

write_conf() {
  # `slurmd -C` prints this machine's real layout; a node configured with more CPUs or memory
  # than it has is drained at registration. Keep 10% of the memory (at least 512 MiB) free.
  local hw mem
  hw="$(slurmd -C | sed -n 1p)"
  mem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")"
  mem=$((mem - (mem / 10 > 512 ? mem / 10 : 512)))
  hw="$(sed -e "s/^NodeName=[^ ]*/NodeName=$node/" -e "s/RealMemory=[0-9]*/RealMemory=$mem/" <<<"$hw")"
  mkdir -p "$(dirname "$conf")" "$dir/state" "$dir/spool" "$dir/run"
  rm -f "$dir"/*.log # the daemons append; keep only this run's
  cat >"$conf" <<EOF
$marker
# A single-node cluster on loopback; 'scripts/slurm-local.sh stop' removes this file.
ClusterName=local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# A job whose afterok dependency failed is cancelled instead of pending forever.
DependencyParameters=kill_invalid_depend
# No mail on this machine; the default (/bin/mail) is absent and logged as an error.
MailProg=/bin/true
# Short waits so stop and failed jobs do not hold CI for minutes.
KillWait=5
SlurmdTimeout=30
$hw NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

# Bounded: with no controller, sinfo keeps retrying for tens of seconds.
node_state() { timeout 2 sinfo -h -N -n "$node" -o '%T' 2>/dev/null | sed -n 1p || true; }

show_logs() {
  local f
  for f in "$dir"/slurmctld.{stderr,log} "$dir"/slurmd.{stderr,log}; do
    [[ -f "$f" ]] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
  done
  return 0
}

start() {
  need_tools
  if [[ -e "$conf" ]] && ! grep -qxF "$marker" "$conf"; then
    die "$conf exists and was not written by this script; set SLURM_CONF to another path"
  fi
  start_munge
  if pid_alive "$dir/slurmctld.pid" && pid_alive "$dir/slurmd.pid"; then
    echo "slurm-local.sh: already running (node $node: $(node_state))"
    return 0
  fi
  # Half a cluster (one daemon died): start both afresh.
  if pid_alive "$dir/slurmctld.pid" || pid_alive "$dir/slurmd.pid"; then stop_daemons; fi
  write_conf
  # In the foreground (-D) as background jobs, so the pids are known at once: slurmd writes its
  # own pid file only after registering, too late for `stop` to end one that never registers.
  # Their stdio go to files, so a caller reading our output (a test's execFile) is not held open.
  # -c: start with no jobs left from an earlier run.
  slurmctld -D -c -f "$conf" </dev/null >"$dir/slurmctld.stderr" 2>&1 &
  echo $! >"$dir/slurmctld.pid"
  slurmd -D -f "$conf" -N "$node" </dev/null >"$dir/slurmd.stderr" 2>&1 &
  echo $! >"$dir/slurmd.pid"
  local state='' t0=$SECONDS
  while ((SECONDS - t0 < timeout)); do
    if ! { pid_alive "$dir/slurmctld.pid" && pid_alive "$dir/slurmd.pid"; }; then break; fi
    state="$(node_state)"
    [[ "$state" == idle ]] && { echo "slurm-local.sh: node $node idle (config $conf, logs in $dir)"; return 0; }
    sleep 0.1
  done
  local waited=$((SECONDS - t0))
  show_logs
  stop_daemons
  die "node $node not idle after ${waited}s (state: '${state:-no answer}'; logs above; a daemon stops at a fatal error)"
}

# Wait up to $2 tenths of a second for the process in pid file $1 to exit.
wait_gone() {
  local i
  for ((i = 0; i < $2; i++)); do pid_alive "$1" || return 0; sleep 0.1; done
  return 1
}

stop_daemons() {
  if pid_alive "$dir/slurmctld.pid"; then
    local jobs
    jobs="$(timeout 5 squeue -h -o '%A' 2>/dev/null || true)"
    if [[ -n "$jobs" ]]; then
      # shellcheck disable=SC2086 # one job id per word
      scancel $jobs 2>/dev/null || true
      local i
      for i in $(seq 100); do [[ -z "$(squeue -h -o '%A' 2>/dev/null)" ]] && break; sleep 0.1; done
    fi
    # Ends slurmctld and every slurmd cleanly; signals below are for what did not listen.
    if scontrol shutdown >/dev/null 2>&1; then
      wait_gone "$dir/slurmd.pid" 50 || true
      wait_gone "$dir/slurmctld.pid" 50 || true
    fi
  fi
  local f
  for f in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
    pid_alive "$f" || continue
    kill "$(cat "$f")" 2>/dev/null || true
    wait_gone "$f" 50 || kill -9 "$(cat "$f")" 2>/dev/null || true
  done
}

stop() {
  need_tools
  if [[ -d "$dir" ]]; then stop_daemons; fi
  if [[ -f "$dir/started-munged" ]] && pid_alive /run/munge/munged.pid; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    wait_gone /run/munge/munged.pid 50 || true
  fi
  if [[ -e "$conf" ]] && grep -qxF "$marker" "$conf"; then rm -f "$conf"; fi
  rm -rf "$dir"
  echo "slurm-local.sh: stopped"
}

status() {
  need_tools
  local ok=0
  if munge_ok; then echo "munged: running"; else echo "munged: not answering"; ok=1; fi
  if scontrol ping 2>/dev/null | grep -q UP; then echo "slurmctld: UP"; else echo "slurmctld: down"; ok=1; fi
  local state
  state="$(node_state)"
  echo "node $node: ${state:-unknown}"
  [[ "$state" =~ ^(idle|mixed|allocated|completing)$ ]] || ok=1
  return "$ok"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
