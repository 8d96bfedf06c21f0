#!/usr/bin/env bash
# Executes notebooks headless with nbclient and the project-local tslab kernel, with parameters
# (papermill's convention), saving outputs back into each notebook (or into --output-dir DIR).
# Each notebook runs with its own folder (notebooks/) as working directory. Every -p is checked
# against the notebooks' parameters cells before anything runs (one-line error, exit status 2).
# A failing cell prints the notebook, cell index, source and error (exit status 1).
#
# Usage: bash scripts/jupyter/run-notebooks.sh [NOTEBOOK ...] [-p NAME VALUE ...] [--output-dir DIR]
#          [--timeout S] [--save-on-error] [--list-parameters]        (npm run notebooks -- ...)
#        NOTEBOOK: a path or a name in notebooks/ (01, 02-race-to-85, ...); default: all.
# Environment: NOTEBOOK_CELL_TIMEOUT, JUPYTER_PYTHON, JUPYTER_LOCAL_PREFIX, RESULTS_DB (see common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in -h|--help) sed -n '2,11p' "$0"; exit 0 ;; esac
require_python_modules jupyter_client nbclient nbformat
absolutize_results_db # RESULTS_DB reaches the kernels as an absolute path (the project's notebooks use the parameter results)
# the kernel is registered (if missing) by run_notebooks.py after the parameters are checked
export RUN_NOTEBOOKS_KERNEL_SPEC="$KERNEL_DIR/kernel.json"
exec "$JUPYTER_PY" "$PROJECT_ROOT/scripts/jupyter/run_notebooks.py" "$@"
