#!/usr/bin/env bash
# Before `npm test` (the pretest script): the system programs the integration tests drive for
# real: nginx (WebDAV remote cache), Slurm with munge (a scale-out job array), chromium (the
# report's browser test, driven headless by playwright-core) and util-linux `script` (the
# progress display's pseudo-terminal test). On Debian or
# Ubuntu as root they are installed if missing; elsewhere this says what to install and fails,
# because those tests must run, not be skipped.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
command -v nginx >/dev/null || missing+=(nginx)
for t in slurmctld slurmd sbatch; do command -v "$t" >/dev/null || { missing+=(slurmctld slurmd slurm-client); break; }; done
command -v munged >/dev/null || missing+=(munge)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v script >/dev/null || missing+=(bsdutils)
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  echo "test-services: installing ${missing[*]} (Debian packages) for the integration tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "test-services: the integration tests need ${missing[*]}; install them (Debian: apt-get install -y --no-install-recommends nginx slurmctld slurmd slurm-client munge chromium bsdutils) and run npm test again" >&2
exit 1
