#!/usr/bin/env bash
# Submit a Retrace scale-out build to Slurm: the array of N partition builds, then the merge,
# which starts only when every task succeeded (afterok) and is cancelled if one failed.
# Run it from the project folder (or set RETRACE_PROJECT); the RETRACE_* variables described in
# retrace-array.sbatch are exported to both jobs.
#
#   deploy/slurm/submit.sh --shards 16
#   deploy/slurm/submit.sh --shards 4 --wait --build-opts "--cpus-per-task=1 --mem=2G"
#
#   --shards N        partitions, one array task each (default 8)
#   --max-running K   run at most K tasks at once (array throttle %K)
#   --logs DIR        folder for the job logs (default slurm-logs, created)
#   --build-opts S    more sbatch options for the array, split on spaces (override the #SBATCH lines)
#   --merge-opts S    more sbatch options for the merge
#   --wait            block until the merge ends; exit 0 only if it completed
# Prints `array <id>` and `merge <id>` on stdout, one per line.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
shards=8 throttle='' logs='slurm-logs' build_opts='' merge_opts='' wait=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shards) shards="$2"; shift 2 ;;
    --max-running) throttle="%$2"; shift 2 ;;
    --logs) logs="$2"; shift 2 ;;
    --build-opts) build_opts="$2"; shift 2 ;;
    --merge-opts) merge_opts="$2"; shift 2 ;;
    --wait) wait=1; shift ;;
    *) echo "submit.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: --shards needs a positive integer" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "submit.sh: sbatch not found (is this a Slurm login node?)" >&2; exit 127; }

# Slurm does not create the folder of --output; a missing one loses the logs silently.
mkdir -p "$logs"
logs="$(cd "$logs" && pwd)"
read -r -a bopts <<<"$build_opts"
read -r -a mopts <<<"$merge_opts"

array_id="$(sbatch --parsable --array="0-$((shards - 1))$throttle" \
  --output="$logs/retrace-build-%A_%a.out" "${bopts[@]}" "$here/retrace-array.sbatch")"
array_id="${array_id%%;*}" # --parsable prints id;cluster on multi-cluster setups
merge_id="$(sbatch --parsable --dependency="afterok:$array_id" --kill-on-invalid-dep=yes \
  --export="ALL,RETRACE_SHARDS=$shards" --output="$logs/retrace-merge-%j.out" "${mopts[@]}" \
  "$here/retrace-merge.sbatch")"
merge_id="${merge_id%%;*}"
echo "array $array_id"
echo "merge $merge_id"
[[ "$wait" == 1 ]] || exit 0

# Poll rather than `sbatch --wait`, so the ids above are printed at once. scontrol knows a
# finished job for MinJobAge (300 s by default); sacct, when accounting is set up, after that.
job_state() {
  local s
  s="$(scontrol show job -o "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')" || s=''
  if [[ -z "$s" ]] && command -v sacct >/dev/null; then
    s="$(sacct -n -X -P -j "$1" -o State 2>/dev/null | awk 'NR == 1 { print $1 }')" || s=''
  fi
  echo "$s"
}
unknown=0
while :; do
  state="$(job_state "$merge_id")"
  case "$state" in
    COMPLETED) echo "merge $merge_id completed; log: $logs/retrace-merge-$merge_id.out" >&2; exit 0 ;;
    PENDING | CONFIGURING | RUNNING | COMPLETING | REQUEUED | RESIZING | SUSPENDED) unknown=0 ;;
    '') # the controller restarting, or the job purged with no accounting to ask
      unknown=$((unknown + 1))
      ((unknown < 30)) || { echo "submit.sh: Slurm no longer knows job $merge_id" >&2; exit 1; } ;;
    *) echo "merge $merge_id ended $state; logs in $logs (a failed build task cancels the merge)" >&2; exit 1 ;;
  esac
  sleep "${SUBMIT_POLL_SECONDS:-2}"
done
