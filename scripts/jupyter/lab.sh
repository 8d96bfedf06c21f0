#!/usr/bin/env bash
# Starts the classic Jupyter Notebook (notebook 6.x; JupyterLab is not installed) for notebooks/,
# listening on 127.0.0.1 only, with token authentication, using the project-local tslab kernel.
#
# Usage: bash scripts/jupyter/lab.sh [extra NotebookApp options]      (npm run lab)
# Environment:
#   JUPYTER_TOKEN   token to require (default: a random one, printed in the URL)
#   JUPYTER_PORT    port (default 8888; no fallback to another port, so the printed URL is right)
#   RESULTS_DB      passed to the kernels (made absolute)
#   JUPYTER_PYTHON, JUPYTER_LOCAL_PREFIX (see common.sh)
# To reach it from another machine use an SSH tunnel (ssh -L 8888:127.0.0.1:8888 host); this script
# never listens on other interfaces.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

for arg in "$@"; do
  case "$arg" in
    --ip*|--NotebookApp.ip*|--ServerApp.ip*|--NotebookApp.token*|--NotebookApp.password*|--NotebookApp.allow_remote_access*)
      die "option '$arg' is not allowed: this script always listens on 127.0.0.1 with token authentication (set JUPYTER_TOKEN to choose the token)." ;;
  esac
done

require_python_modules notebook jupyter_client
ensure_kernel
absolutize_results_db

PORT="${JUPYTER_PORT:-8888}"
if [ -z "${JUPYTER_TOKEN:-}" ]; then
  JUPYTER_TOKEN="$("$JUPYTER_PY" -c 'import secrets; print(secrets.token_hex(24))')"
fi
# The token is passed through the environment (notebook reads JUPYTER_TOKEN), not on the command
# line where other local users could read it in the process list.
export JUPYTER_TOKEN
mkdir -p "$JUPYTER_CONFIG_DIR" "$JUPYTER_RUNTIME_DIR"

root_opt=()
if [ "$(id -u)" = "0" ]; then
  echo "warning: running as root (e.g. in a container); passing --allow-root." >&2
  root_opt=(--allow-root)
fi

URL="http://127.0.0.1:${PORT}/tree?token=${JUPYTER_TOKEN}"
cat <<MSG
Jupyter Notebook for $PROJECT_ROOT/notebooks (kernel: TypeScript / tslab, from $KERNEL_DIR)
Listening on 127.0.0.1:${PORT} only, token required. Open:

    $URL

Stop with Ctrl-C.
MSG

exec "$JUPYTER_PY" -m notebook \
  "$@" \
  ${root_opt[@]+"${root_opt[@]}"} \
  --no-browser \
  --ip=127.0.0.1 \
  --port="$PORT" \
  --port-retries=0 \
  --notebook-dir="$PROJECT_ROOT/notebooks" \
  --NotebookApp.allow_remote_access=False \
  --NotebookApp.password='' \
  --MappingKernelManager.default_kernel_name="$KERNEL_NAME"
