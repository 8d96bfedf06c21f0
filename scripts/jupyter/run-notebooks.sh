#!/usr/bin/env bash
# Executes notebooks headless with nbclient and the project-local tslab kernel, saving outputs
# back into each notebook (or into --output-dir DIR). Each notebook runs with its own folder
# (notebooks/) as working directory. Exits non-zero and prints the notebook, cell index, source and
# error when a cell fails.
#
# Usage: bash scripts/jupyter/run-notebooks.sh [--timeout S] [--output-dir DIR] [--save-on-error] [NOTEBOOK...]
#        (npm run notebooks)    default NOTEBOOKs: notebooks/*.ipynb
# Environment: RESULTS_DB (passed to the kernels, made absolute), NOTEBOOK_CELL_TIMEOUT,
#              JUPYTER_PYTHON, JUPYTER_LOCAL_PREFIX (see common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_python_modules jupyter_client nbclient nbformat
ensure_kernel
absolutize_results_db

opts=()
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout|--output-dir|--kernel|--startup-timeout)
      [ $# -ge 2 ] || die "$1 needs a value"
      val="$2"
      if [ "$1" = "--output-dir" ]; then
        case "$val" in /*) ;; *) val="$(pwd)/$val" ;; esac
      fi
      opts+=("$1" "$val"); shift 2 ;;
    --timeout=*|--kernel=*|--startup-timeout=*|--save-on-error) opts+=("$1"); shift ;;
    --output-dir=*)
      val="${1#--output-dir=}"
      case "$val" in /*) ;; *) val="$(pwd)/$val" ;; esac
      opts+=("--output-dir" "$val"); shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) files+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"); shift ;;
  esac
done
if [ "${#files[@]}" -eq 0 ]; then
  shopt -s nullglob
  files=("$PROJECT_ROOT"/notebooks/*.ipynb)
  shopt -u nullglob
  [ "${#files[@]}" -gt 0 ] || die "no notebooks in $PROJECT_ROOT/notebooks"
fi

exec "$JUPYTER_PY" "$PROJECT_ROOT/scripts/jupyter/run_notebooks.py" ${opts[@]+"${opts[@]}"} "${files[@]}"
