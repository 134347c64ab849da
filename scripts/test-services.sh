#!/usr/bin/env bash
# Before `npm test` (the pretest script): the system programs the integration tests drive for
# real: nginx (WebDAV remote cache) and Slurm with munge (a scale-out job array). On Debian or
# Ubuntu as root they are installed if missing; elsewhere this says what to install and fails,
# because those tests must run, not be skipped.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
command -v nginx >/dev/null || missing+=(nginx)
for t in slurmctld slurmd sbatch; do command -v "$t" >/dev/null || { missing+=(slurmctld slurmd slurm-client); break; }; done
command -v munged >/dev/null || missing+=(munge)
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  echo "test-services: installing ${missing[*]} (Debian packages) for the integration tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "test-services: the integration tests need ${missing[*]}; install them (Debian: apt-get install -y --no-install-recommends nginx slurmctld slurmd slurm-client munge) and run npm test again" >&2
exit 1
