#!/usr/bin/env bash
# Trains the study (race-to-85 and full-182 on the full CIFAR-10) in the background, at low priority,
# (stop it with `kill -- -$(cat ~/ws-study/train.pid)`: the whole session, lanes included),
# from a fixed commit of the workspace, into a results store outside the work tree. Stop it any time
# (kill, a closed session, a reboot): running it again resumes every run from its last checkpoint,
# and finished runs are skipped. Nothing here computes a result: each item is one
# `experiment --run-index` of the workspace's own command line.
#
#   bash scripts/study/train.sh [--commit REV] [--dir DIR] [--lanes N] [--store FILE]
#
# A new machine continues from studies/in-progress.sqlite (the store with the checkpoints of the
# unfinished runs, committed a few times over the study) when DIR has no store yet.
# DIR (default $HOME/ws-study) holds: code/ (a git worktree at REV, built), study.sqlite (the store,
# with checkpoints), logs/lane-K.log. Lanes (default 2, one per core) are independent single-thread
# training processes; lane K takes the items K, K+N, K+2N, ... of the study order below, so the
# two race arms advance side by side, seed by seed, and the two full-182 runs follow.
set -euo pipefail
# its own session, so that its low priority holds: with the kernel's autogroups (sched_autogroup) nice
# only ranks processes within one session, so the session's group gets nice 19 too
if [ "$(ps -o sid= -p $$ | tr -d ' ')" != "$$" ]; then exec setsid bash "$0" "$@"; fi
echo 19 > /proc/self/autogroup 2>/dev/null || true
here="$(cd "$(dirname "$0")/../.." && pwd)"
commit=HEAD dir="${HOME}/ws-study" lanes=2 store=""
while [ $# -gt 0 ]; do
  case "$1" in
    --commit) commit="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --lanes) lanes="$2"; shift 2 ;;
    --store) store="$2"; shift 2 ;;
    *) echo "train.sh: unknown option $1 (expected --commit REV, --dir DIR, --lanes N, --store FILE)" >&2; exit 2 ;;
  esac
done
# the data: CIFAR10_DIR, else what npm run data:cifar10 downloaded, else the shared copy beside the checkout
if [ -n "${CIFAR10_DIR:-}" ]; then data="$CIFAR10_DIR"
elif [ -f "$here/data/cifar-10-batches-bin/data_batch_1.bin" ]; then data="$here/data/cifar-10-batches-bin"
else data="$here/../shared/data/cifar-10-batches-bin"; fi
[ -f "$data/data_batch_1.bin" ] || { echo "train.sh: no full CIFAR-10 in $data (set CIFAR10_DIR, or run npm run data:cifar10)" >&2; exit 2; }
data="$(cd "$data" && pwd)"
store="${store:-$dir/study.sqlite}"
[ -d "$here/node_modules" ] || { echo "train.sh: no node_modules in $here: run npm ci (or npm install) there first" >&2; exit 2; }
rev="$(git -C "$here" rev-parse --verify "$commit^{commit}")"
mkdir -p "$dir/logs"
# one trainer per folder: a second one exits at once
exec 9>"$dir/train.lock"
flock -n 9 || { echo "train.sh: another train.sh is training in $dir (stop it with: kill -- -\$(cat $dir/train.pid))" >&2; exit 2; }
echo $$ > "$dir/train.pid"
# a new machine continues from the copy committed with the workspace (runs, epochs and checkpoints)
if [ ! -f "$store" ] && [ -f "$here/studies/in-progress.sqlite" ]; then
  cp "$here/studies/in-progress.sqlite" "$store"
  echo "study: continuing from studies/in-progress.sqlite"
fi
if [ ! -f "$dir/fidelity-pytorch.jsonl" ] && [ -f "$here/studies/fidelity-pytorch.jsonl" ]; then
  cp "$here/studies/fidelity-pytorch.jsonl" "$dir/fidelity-pytorch.jsonl"
fi

# the code: a worktree at the commit, with this checkout's npm packages and native addon copied in
if [ ! -d "$dir/code" ] || [ "$(git -C "$dir/code" rev-parse HEAD 2>/dev/null)" != "$rev" ]; then
  if [ -d "$dir/code" ]; then
    # replace only a worktree of this repository (never another checkout's code)
    if [ "$(git -C "$dir/code" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)" != "$(git -C "$here" rev-parse --path-format=absolute --git-common-dir)" ]; then
      echo "train.sh: $dir/code is not a worktree of $here; remove it or use --dir" >&2; exit 2
    fi
    git -C "$here" worktree remove --force "$dir/code"
  fi
  git -C "$here" worktree prune
  git -C "$here" worktree add --detach "$dir/code" "$rev" >/dev/null
  cp -a "$here/node_modules" "$dir/code/node_modules"
  [ -d "$here/native/onednn/build" ] && cp -a "$here/native/onednn/build" "$dir/code/native/onednn/build"
  (cd "$dir/code" && npx tsc -p tsconfig.json)
fi
# the whole study trains on one engine: without oneDNN's addon every run would fail at once
[ -f "$dir/code/native/onednn/build/Release/onednn.node" ] || {
  echo "train.sh: the oneDNN addon is not built in $here (apt-get install g++ make libdnnl-dev && node scripts/build-native.js), so the study's engine (onednn) is missing" >&2; exit 2; }
echo "study: code $rev in $dir/code, store $store, data $data, $lanes lanes (logs in $dir/logs); stop it with: kill -- -$$"

# the study order: protocol arm seed
order=()
for s in 0 1 2 3 4; do order+=("race-to-85 step $s" "race-to-85 cosine $s"); done
order+=("full-182 step 0" "full-182 cosine-14 0")
for s in $(seq 5 19); do order+=("race-to-85 step $s" "race-to-85 cosine $s"); done
for s in $(seq 1 9); do order+=("full-182 step $s" "full-182 cosine-14 $s" "full-182 cosine-7 $((s - 1))"); done

lane() {
  local k="$1" i item protocol arm seed
  for ((i = k; i < ${#order[@]}; i += lanes)); do
    item="${order[$i]}"; read -r protocol arm seed <<<"$item"
    echo "== $(date -u +%FT%TZ) lane $k: $item"
    # --arms ARM --run-index SEED: with the protocol's own seed count, run SEED of the arm's expansion
    (cd "$dir/code" && nice -n 19 node dist/cli.js experiment --protocol "$protocol" --arms "$arm" --run-index "$seed" \
      --workers 0 --threads 1 --backend onednn --data "$data" --results "$store") || echo "== lane $k: $item exited $?"
  done
}
# the PyTorch side of the full-scale fidelity check (README): 5 seeds x 10 epochs of each race arm on
# the full set (3 at first; 5 since both arms came out ahead on the workspace's side by 2-3 pp, p 0.08
# and 0.15 with 3), kept epoch by epoch in fidelity-pytorch.jsonl; the workspace side is the study's
# own runs (seeds 0-4, their first 10 epochs), compared whenever they are there
fidelity() {
  local arm
  for arm in step cosine; do
    echo "== $(date -u +%FT%TZ) fidelity: $arm"
    (cd "$dir/code" && nice -n 19 node dist/bench/fidelity.js --protocol race-to-85 --arm "$arm" --epochs 10 --seeds 5 \
      --train-images 45000 --test-count 0 --data "$data" --workspace-results "$store" --pytorch-log "$dir/fidelity-pytorch.jsonl") \
      || echo "== fidelity $arm exited $?"
  done
}
for ((k = 0; k < lanes; k++)); do
  lane "$k" >>"$dir/logs/lane-$k.log" 2>&1 &
done
[ -n "${WS_STUDY_NO_FIDELITY:-}" ] || fidelity >>"$dir/logs/fidelity.log" 2>&1 &
wait
