#!/usr/bin/env bash
# Registers the tslab (TypeScript) Jupyter kernel in the project-local Jupyter prefix
# (<project>/.jupyter-local by default), so that JUPYTER_PATH=<prefix>/share/jupyter finds kernel
# "tslab". The kernel spec runs the project's node_modules/tslab with an absolute node path, so no
# global tslab install is needed.
#
# Usage: bash scripts/jupyter/install-kernel.sh      (npm run kernel:install)
# Environment: JUPYTER_PYTHON (default /usr/bin/python3), JUPYTER_LOCAL_PREFIX, NODE (see common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[ -f "$TSLAB_BIN" ] || die "$TSLAB_BIN not found; run 'npm install' first."
# The kernel protocol fixes come from patches/tslab+<version>.patch, applied by npm's postinstall.
grep -q addFormatter "$PROJECT_ROOT/node_modules/tslab/dist/public.js" || \
  die "node_modules/tslab is not patched (patches/tslab+*.patch); run 'npm install' (its postinstall runs patch-package)."
NODE_BIN="${NODE:-$(command -v node || true)}"
[ -n "$NODE_BIN" ] && [ -x "$NODE_BIN" ] || die "node not found on PATH (or set NODE=/path/to/node)."
NODE_BIN="$(cd "$(dirname "$NODE_BIN")" && pwd)/$(basename "$NODE_BIN")"
require_python_modules jupyter_client

mkdir -p "$JUPYTER_LOCAL_PREFIX"
# tslab's own installer (flags: --python, --binary, --prefix / --user / --sys-prefix); it writes
# the "tslab" (TypeScript) and "jslab" (JavaScript) specs under <prefix>/share/jupyter/kernels/.
if ! "$NODE_BIN" "$TSLAB_BIN" install --python="$JUPYTER_PY" --prefix="$JUPYTER_LOCAL_PREFIX" --binary="$TSLAB_BIN"; then
  echo "warning: 'tslab install' failed (its installer also needs IPython); writing the kernel specs directly." >&2
fi

# Pin argv to absolute paths: [node, node_modules/tslab/bin/tslab, kernel, ...].
"$JUPYTER_PY" - "$JUPYTER_LOCAL_PREFIX/share/jupyter/kernels" "$NODE_BIN" "$TSLAB_BIN" <<'PY'
import json, os, sys
kernels_dir, node, tslab = sys.argv[1:4]
for name, is_js in (("tslab", False), ("jslab", True)):
    d = os.path.join(kernels_dir, name)
    os.makedirs(d, exist_ok=True)
    spec_path = os.path.join(d, "kernel.json")
    spec = {}
    if os.path.exists(spec_path):
        with open(spec_path) as f:
            spec = json.load(f)
    argv = [node, tslab, "kernel", "--config-path", "{connection_file}"] + (["--js"] if is_js else [])
    spec.update({
        "argv": argv,
        "display_name": spec.get("display_name") or ("JavaScript" if is_js else "TypeScript"),
        "language": "javascript" if is_js else "typescript",
    })
    tmp = spec_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(spec, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, spec_path)
    print("kernel %-6s -> %s" % (name, spec_path))
PY

"$JUPYTER_PY" -m jupyter kernelspec list 2>/dev/null | grep -E "^\s*(tslab|jslab)\s" || true
echo "Registered. Use: JUPYTER_PATH=$JUPYTER_LOCAL_PREFIX/share/jupyter (kernel name: $KERNEL_NAME, TypeScript)"
