#!/usr/bin/env bash
# A single-node Slurm for the Slurm launcher's tests (tests/slurm.rs) and for trying
# `sweep --launcher slurm` on one machine: `scripts/slurm.sh up` installs Debian's slurm-wlm and
# munge if they are missing, writes a one-node slurm.conf for this machine and starts munged,
# slurmctld and slurmd (a no-op when `sinfo` already answers); `scripts/slurm.sh down` stops them.
# Needs root (or sudo). Recipe: ../shared/docs/slurm-single-node.md.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

up() {
  if sinfo -h >/dev/null 2>&1; then
    return 0
  fi
  # Debian's slurm-wlm and munge, when missing; an install that fails stops here and names them.
  bash "$(dirname "$0")/deps.sh" slurm
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(free -m | awk '/Mem/{print int($2*0.9)}')
  $SUDO mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
  $SUDO tee /etc/slurm/slurm.conf >/dev/null <<CONF
ClusterName=local
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmUser=root
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
KillWait=30
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  if [ ! -f /etc/munge/munge.key ]; then
    $SUDO dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  fi
  $SUDO chown munge:munge /etc/munge/munge.key /run/munge
  $SUDO chmod 400 /etc/munge/munge.key
  [ -f /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null || $SUDO runuser -u munge -- /usr/sbin/munged
  $SUDO /usr/sbin/slurmctld
  $SUDO /usr/sbin/slurmd
  # The node registers with the controller within a few seconds of starting.
  for _ in $(seq 1 60); do
    if sinfo -h -o %t 2>/dev/null | grep -q idle; then
      return 0
    fi
    sleep 1
  done
  echo "slurm.sh: the node did not become idle; see /var/log/slurm/" >&2
  sinfo >&2 || true
  return 1
}

down() {
  for pidfile in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
    if [ -f "$pidfile" ]; then
      $SUDO kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
  done
  # Wait until they have exited, so a following `up` can start them again.
  for name in slurmd slurmctld munged; do
    for _ in $(seq 1 50); do
      pgrep -x "$name" >/dev/null || break
      sleep 0.2
    done
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
