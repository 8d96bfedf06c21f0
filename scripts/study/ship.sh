#!/usr/bin/env bash
# Ships the study being trained (scripts/study/train.sh) into studies/: nothing here computes a
# result, it copies the store with the workspace's own commands and checks the copy.
#
#   bash scripts/study/ship.sh [--dir DIR] [--in-progress]
#
# - studies/resnet20-cifar10.sqlite: every run and epoch, no checkpoints (copy-store --checkpoints none),
#   what notebook 04, analyze, report and verify-study read;
# - studies/fidelity-pytorch.jsonl: the PyTorch side of the full-scale fidelity check;
# - studies/figures/: three paper-style race-to-85 figures with their captions (export-charts), and
#   full-182's validation accuracy (while its runs train: so far, the caption says how far) and,
#   once one of its runs has finished, its final-test-error figure;
# - notebooks/04-analysis.ipynb: executed on the shipped store, so that its saved outputs show it;
# - with --in-progress, also studies/in-progress.sqlite: the runs with the checkpoints of the
#   unfinished ones (copy-store --checkpoints unfinished), from which train.sh goes on on a new
#   machine. It is 2-7 MB per commit: commit it only a few times over the whole study.
# The copies are compacted (VACUUM) in rollback-journal mode, so that they open read-only from a
# checkout with no -wal/-shm files beside them. Then verify-study checks the shipped store.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${HOME}/ws-study" inprogress=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --in-progress) inprogress=1; shift ;;
    *) echo "ship.sh: unknown option $1 (expected --dir DIR, --in-progress)" >&2; exit 2 ;;
  esac
done
store="$dir/study.sqlite"
[ -f "$store" ] || { echo "ship.sh: no study store at $store (train it with scripts/study/train.sh, or give --dir)" >&2; exit 2; }
[ -f "$here/dist/cli.js" ] || { echo "ship.sh: no dist/cli.js in $here: run npm run build first" >&2; exit 2; }
cd "$here"
tmp="$(mktemp -d /tmp/ws-ship-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# one copy of the store, compacted and out of WAL mode
copy() { # copy FILE SELECTION
  node dist/cli.js copy-store --from "$store" --to "$tmp/$1" --checkpoints "$2"
  node -e "const db = new (require('better-sqlite3'))(process.argv[1]); db.pragma('journal_mode = DELETE'); db.exec('VACUUM'); db.close();" "$tmp/$1"
}
copy results.sqlite none
if [ "$inprogress" = 1 ]; then copy in-progress.sqlite unfinished; fi
# every protocol with a finished run or a trained epoch (export-charts leaves out, with a note, one that has neither)
node dist/cli.js export-charts --results "$tmp/results.sqlite" --out "$tmp/figures" --formats png >/dev/null

mkdir -p studies/figures
mv "$tmp/results.sqlite" studies/resnet20-cifar10.sqlite
if [ "$inprogress" = 1 ]; then mv "$tmp/in-progress.sqlite" studies/in-progress.sqlite; fi
if [ -f "$dir/fidelity-pytorch.jsonl" ]; then cp "$dir/fidelity-pytorch.jsonl" studies/fidelity-pytorch.jsonl; fi
for f in race-to-85-validation race-to-85-time-to-target-epochs race-to-85-kaplan-meier-epochs; do
  cp "$tmp/figures/$f.png" "$tmp/figures/$f.txt" studies/figures/
done
# full-182's figures: validation accuracy once it has an epoch, test error once a run has finished
for f in full-182-validation full-182-test-error; do
  if [ -f "$tmp/figures/$f.png" ]; then cp "$tmp/figures/$f.png" "$tmp/figures/$f.txt" studies/figures/; fi
done
node dist/cli.js verify-study --results studies/resnet20-cifar10.sqlite
# notebook 04's saved outputs are the shipped study's (test/notebooks.test.ts compares its counts with the store)
if ! bash scripts/jupyter/run-notebooks.sh 04 -p results studies/resnet20-cifar10.sqlite; then
  echo "ship.sh: the study is shipped, but notebook 04 was not re-executed on it (above: why; Jupyter and the tslab kernel come with bash .ci/run): run npm run notebooks -- 04 -p results studies/resnet20-cifar10.sqlite" >&2
  exit 1
fi
ls -la studies studies/figures
