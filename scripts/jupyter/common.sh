# Shared setup of the Jupyter scripts (sourced, not executed).
#
# Environment:
#   JUPYTER_PYTHON        python with jupyter_client / notebook / nbclient (default /usr/bin/python3,
#                         Debian's; the python3 first on PATH may be another one without Jupyter)
#   JUPYTER_LOCAL_PREFIX  project-local Jupyter prefix (default <project>/.jupyter-local); the kernel
#                         spec lives in $JUPYTER_LOCAL_PREFIX/share/jupyter/kernels/tslab
#   NODE                  node binary used by the kernel (default: `command -v node`)

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JUPYTER_LOCAL_PREFIX="${JUPYTER_LOCAL_PREFIX:-$PROJECT_ROOT/.jupyter-local}"
case "$JUPYTER_LOCAL_PREFIX" in
  /*) ;;
  *) JUPYTER_LOCAL_PREFIX="$(pwd)/$JUPYTER_LOCAL_PREFIX" ;;
esac
JUPYTER_PY="${JUPYTER_PYTHON:-/usr/bin/python3}"
TSLAB_BIN="$PROJECT_ROOT/node_modules/tslab/bin/tslab"
KERNEL_NAME="tslab"
KERNEL_DIR="$JUPYTER_LOCAL_PREFIX/share/jupyter/kernels/$KERNEL_NAME"

# The project-local kernel spec is found first (JUPYTER_PATH has the highest priority); config and
# runtime files stay inside the project too, so a user's ~/.jupyter does not change the behaviour.
export JUPYTER_PATH="$JUPYTER_LOCAL_PREFIX/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export JUPYTER_CONFIG_DIR="${JUPYTER_CONFIG_DIR:-$JUPYTER_LOCAL_PREFIX/etc/jupyter}"
export JUPYTER_RUNTIME_DIR="${JUPYTER_RUNTIME_DIR:-$JUPYTER_LOCAL_PREFIX/runtime}"
export IPYTHONDIR="${IPYTHONDIR:-$JUPYTER_LOCAL_PREFIX/ipython}"

die() {
  echo "error: $*" >&2
  exit 1
}

# require_python_modules MOD... : JUPYTER_PY must exist and import every module.
require_python_modules() {
  if [ ! -x "$JUPYTER_PY" ] && ! command -v "$JUPYTER_PY" >/dev/null 2>&1; then
    die "python '$JUPYTER_PY' not found. Set JUPYTER_PYTHON to a python that has Jupyter (jupyter_client, notebook, nbclient), e.g. JUPYTER_PYTHON=\$(which python3) after 'pip install notebook nbclient'."
  fi
  local mod missing=()
  for mod in "$@"; do
    "$JUPYTER_PY" -c "import $mod" >/dev/null 2>&1 || missing+=("$mod")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    die "python '$JUPYTER_PY' cannot import: ${missing[*]}. Install them (Debian: apt-get install jupyter-notebook python3-nbclient; elsewhere: pip install notebook nbclient) or set JUPYTER_PYTHON to a python that has them."
  fi
}

# Absolute RESULTS_DB (kernels run with cwd = the notebook's folder).
absolutize_results_db() {
  if [ -n "${RESULTS_DB:-}" ]; then
    case "$RESULTS_DB" in
      /*|:memory:) ;;
      *) RESULTS_DB="$(pwd)/$RESULTS_DB" ;;
    esac
    export RESULTS_DB
  fi
}

ensure_kernel() {
  if [ ! -f "$KERNEL_DIR/kernel.json" ]; then
    echo "Kernel '$KERNEL_NAME' not registered in $JUPYTER_LOCAL_PREFIX; registering it." >&2
    bash "$PROJECT_ROOT/scripts/jupyter/install-kernel.sh" >&2
  fi
}
