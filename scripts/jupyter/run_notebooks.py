"""Execute Jupyter notebooks headless with nbclient, with parameters, and report failures precisely.

Usage: run_notebooks.py [NOTEBOOK ...] [-p NAME VALUE ...] [--output-dir DIR] [--timeout SECONDS]
                        [--startup-timeout SECONDS] [--kernel tslab] [--save-on-error] [--list-parameters]

NOTEBOOK: a path, or a name in <project>/notebooks (`02`, `02-race-to-85`); default: all of them.
Parameters follow papermill's convention (see parameters.py): every notebook has one code cell
tagged `parameters`; the values given with -p, and for the others the cell's `// headless:` values,
are injected as assignments in a cell tagged `injected-parameters` right after it. Every notebook and
every -p is checked before any kernel starts: an unknown name or a value of the wrong type is a
one-line error (exit status 2). Each notebook's parameters and its time are printed.

Each notebook runs with its own folder as the working directory. Outputs are saved back into the
notebook (atomically; the injected cell is kept as a raw cell, so that Jupyter runs the notebook's
own defaults) or, with --output-dir, into DIR/<name>.ipynb (the injected cell kept as executed).
Each saved notebook's text pair <name>.ts (jupytext ts:percent, see pairing.py) is written beside it;
a pair edited after its notebook gives the notebook its cells before the run.
Cell timeout: --timeout (0: none); default 900 s, none when `protocol` is given with -p. A cell fails when its
execute_reply status is anything but "ok" (tslab replies "error" without ename/evalue/traceback and
prints the message on stderr), or when it produced an "error" output of any shape, or on a timeout
or a dead kernel. On failure the notebook, the cell index and source, and the error (error outputs,
stderr, reply) are printed and the exit status is 1. Every notebook is run; the exit status is 1 if
any failed, 2 on usage errors.
"""
import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pairing import sync_from_pair, write_pair  # noqa: E402
from redact import move_passwords  # noqa: E402
from parameters import INJECTED_TAG, NO_VALUE, ParameterError, injected_source, parse_cli_value, read_parameters, strip_injected, ts_literal, type_text  # noqa: E402

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOK_DIR = os.path.join(PROJECT_ROOT, "notebooks")

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CellFailure(Exception):
    def __init__(self, reason, reply=None):
        super().__init__(reason)
        self.reason = reason
        self.reply = reply


def strip_ansi(s):
    return ANSI.sub("", s or "")


def as_text(value):
    if value is None:
        return ""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value)


def error_outputs(cell):
    """Outputs that signal an error, whatever their shape."""
    found = []
    for out in cell.get("outputs", []) or []:
        if out.get("output_type") == "error" or (out.get("ename") is not None and out.get("output_type") != "stream"):
            found.append(out)
    return found


def describe_failure(nb_path, index, cell, reason, reply):
    lines = []
    n = "?" if cell is None else cell.get("execution_count")
    lines.append("=" * 78)
    lines.append("FAILED: %s" % nb_path)
    lines.append("cell index %s (0-based; execution count %s): %s" % (index, n, reason))
    if cell is not None:
        lines.append("----- source " + "-" * 65)
        lines.append(as_text(cell.get("source")).rstrip())
        outputs = cell.get("outputs", []) or []
        errs = error_outputs(cell)
        for out in errs:
            lines.append("----- error output " + "-" * 59)
            ename, evalue = out.get("ename"), out.get("evalue")
            if ename or evalue:
                lines.append("%s: %s" % (ename or "<Error>", evalue or ""))
            tb = out.get("traceback") or []
            if tb:
                lines.append(strip_ansi("\n".join(as_text(t) for t in tb)).rstrip())
            if not (ename or evalue or tb):
                lines.append(strip_ansi(repr(dict(out))))
        stderr = "".join(as_text(o.get("text")) for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr")
        if stderr.strip():
            lines.append("----- stderr " + "-" * 65)
            lines.append(strip_ansi(stderr).rstrip())
        stdout = "".join(as_text(o.get("text")) for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
        if stdout.strip() and not errs and not stderr.strip():
            lines.append("----- stdout (last 2000 chars) " + "-" * 46)
            lines.append(strip_ansi(stdout[-2000:]).rstrip())
    if reply:
        content = reply.get("content", reply)
        extra = {k: content.get(k) for k in ("status", "ename", "evalue") if content.get(k) is not None}
        if extra:
            lines.append("----- execute_reply: %s" % extra)
        tb = content.get("traceback")
        if tb:
            lines.append(strip_ansi("\n".join(as_text(t) for t in tb)).rstrip())
    lines.append("=" * 78)
    return "\n".join(lines)


def write_notebook_atomic(nb, path):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600: keep the existing file's mode, else the usual 0666 & ~umask.
        try:
            mode = os.stat(path).st_mode & 0o777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def shown(path):
    """A path relative to the working directory when it is inside it (no machine paths in logs)."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def resolve_notebook(arg):
    """A notebook argument: a path, or a (prefix of a) name in <project>/notebooks."""
    for cand in (arg, os.path.join(os.environ.get("INIT_CWD", ""), arg) if os.environ.get("INIT_CWD") else None):
        if cand and os.path.isfile(cand):
            return os.path.abspath(cand)
    names = sorted(f for f in os.listdir(NOTEBOOK_DIR) if f.endswith(".ipynb")) if os.path.isdir(NOTEBOOK_DIR) else []
    base = os.path.basename(arg)
    hits = [f for f in names if f == base or f == base + ".ipynb"] or [f for f in names if f.startswith(base)]
    if len(hits) == 1 and "/" not in arg.rstrip("/"):
        return os.path.join(NOTEBOOK_DIR, hits[0])
    raise ParameterError("no such notebook: %s%s" % (arg, " (matches %s)" % ", ".join(hits) if len(hits) > 1 else " (notebooks: %s)" % ", ".join(names)))


def plan(paths, cli):
    """Reads every notebook's parameters and checks every -p against them before anything runs.
    Returns [(path, nb, params cell index, values to inject, sources, params)]."""
    plans = []
    known = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if sync_from_pair(nb, path, new_cell):
            print("%s: cells taken from its pair %s (edited after the notebook)" % (shown(path), os.path.basename(os.path.splitext(path)[0] + ".ts")))
        strip_injected(nb)
        index, params = read_parameters(nb, os.path.basename(path))
        known[os.path.basename(path)] = params
        plans.append([path, nb, index, params])
    for name, _ in cli:
        if not any(name in p for p in known.values()):
            listing = "; ".join("%s: %s" % (n, ", ".join(p)) for n, p in known.items())
            raise ParameterError("unknown parameter %s (parameters of the notebooks: %s)" % (name, listing))
    out = []
    for path, nb, index, params in plans:
        values, sources = {}, {}
        for name, p in params.items():
            if p.headless is not NO_VALUE:
                values[name], sources[name] = p.headless, "headless default"
        for name, text in cli:
            if name in params:
                values[name] = parse_cli_value(text, params[name], os.path.basename(path))
                sources[name] = "-p"
        ordered = {n: values[n] for n in params if n in values}
        out.append((path, nb, index, ordered, sources, params))
    return out


def new_cell(kind, source):
    """An nbformat cell of the kind ('code', 'markdown', 'raw') with the source."""
    return {"code": new_code_cell, "markdown": new_markdown_cell}.get(kind, new_raw_cell)(source)


def print_parameters(path, values, sources, params):
    if not params:
        print("%s: no parameters cell" % shown(path))
        return
    print("%s parameters:" % shown(path))
    width = max(len(n) for n in params)
    for name, p in params.items():
        if name in values:
            note = "%s; notebook default %s" % (sources[name], ts_literal(p.default))
            print("  %-*s = %s  (%s)" % (width, name, ts_literal(values[name]), note))
        else:
            print("  %-*s = %s" % (width, name, ts_literal(p.default)))
    sys.stdout.flush()


def run_one(path, nb, index, values, sources, args):
    workdir = os.path.dirname(os.path.abspath(path))
    injected_at = None
    if values:
        injected_at = index + 1
        cell = new_code_cell(injected_source(values, sources))
        cell.metadata["tags"] = [INJECTED_TAG]
        nb.cells.insert(injected_at, cell)
    state = {"index": None}

    def on_cell_start(cell, cell_index):
        state["index"] = cell_index

    def on_cell_executed(cell, cell_index, execute_reply):
        if "raises-exception" in (cell.get("metadata", {}).get("tags") or []):
            # Jupyter convention: the cell is expected to fail. tslab aborts requests that arrive
            # within 200 ms of an error, so pause before the next cell.
            if (execute_reply or {}).get("content", {}).get("status") != "ok":
                return asyncio.sleep(0.5)
            return None
        status = (execute_reply or {}).get("content", {}).get("status")
        if status != "ok":
            raise CellFailure("execute_reply status %r" % status, execute_reply)
        if error_outputs(cell):
            raise CellFailure("the cell produced an error output", execute_reply)

    client = NotebookClient(
        nb,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        kernel_name=args.kernel,
        allow_errors=False,
        resources={"metadata": {"path": workdir}},
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
    )
    started = time.time()
    failure = None
    try:
        client.execute()
    except CellFailure as e:
        failure = (e.reason, e.reply)
    except CellTimeoutError as e:
        failure = ("timed out after %ss (--timeout): %s" % (args.timeout, str(e).strip().splitlines()[0] if str(e).strip() else ""), None)
    except DeadKernelError as e:
        failure = ("the kernel died: %s" % e, None)
    except CellExecutionError as e:
        failure = ("%s" % (getattr(e, "ename", None) or "CellExecutionError"), None)
    except Exception as e:  # kernel start-up problems and the like
        if state["index"] is None:
            print("FAILED: %s: could not run the notebook: %s: %s" % (shown(path), type(e).__name__, e), file=sys.stderr)
            return False
        failure = ("%s: %s" % (type(e).__name__, e), None)

    out_path = os.path.join(args.output_dir, os.path.basename(path)) if args.output_dir else path
    if injected_at is not None and not args.output_dir:
        # in place: keep the record of what ran, but as a raw cell, so that Jupyter runs the
        # notebook's own defaults (the full protocols) and not this headless run's values
        raw = new_raw_cell(nb.cells[injected_at].source)
        raw.metadata["tags"] = [INJECTED_TAG]
        nb.cells[injected_at] = raw
    elapsed = time.time() - started
    if failure is None:
        write_notebook_atomic(nb, out_path)
        write_pair(nb, out_path)
        print("ok     %s (%.1f s) -> %s" % (shown(path), elapsed, shown(out_path)))
        sys.stdout.flush()
        return True
    index = state["index"]
    cell = nb.cells[index] if index is not None and index < len(nb.cells) else None
    print(describe_failure(shown(path), index, cell, failure[0], failure[1]), file=sys.stderr)
    if args.output_dir or args.save_on_error:
        write_notebook_atomic(nb, out_path)
        write_pair(nb, out_path)
        print("partial outputs saved to %s" % shown(out_path), file=sys.stderr)
    return False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", help="paths or names in notebooks/ (default: all)")
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"), help="set a parameter (repeatable)")
    ap.add_argument("--kernel", default="tslab", help="kernel name (default tslab)")
    ap.add_argument("--timeout", type=int, default=None, help="seconds per cell, 0: none (default 900; none when protocol is given with -p)")
    ap.add_argument("--startup-timeout", type=int, default=180, help="seconds for the kernel to start (default 180)")
    ap.add_argument("--output-dir", help="write executed notebooks here instead of in place")
    ap.add_argument("--save-on-error", action="store_true", help="also save a failed notebook in place (its partial outputs)")
    ap.add_argument("--list-parameters", action="store_true", help="print the notebooks' parameters (name, type, default, headless value) and exit")
    args = ap.parse_args(argv)
    try:
        names = args.notebooks or sorted(f for f in os.listdir(NOTEBOOK_DIR) if f.endswith(".ipynb"))
        paths = [resolve_notebook(n) for n in names]
        if not paths:
            raise ParameterError("no notebooks in %s" % NOTEBOOK_DIR)
        plans = plan(paths, [tuple(p) for p in args.parameter])
        password = move_passwords(plans)  # out of every value before anything is printed or injected
        if password is not None:
            os.environ["PGPASSWORD"] = password  # the kernels inherit it (pg reads PGPASSWORD)
    except ParameterError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    if args.list_parameters:
        for path, _, _, _, _, params in plans:
            print("%s:%s" % (shown(path), "" if params else " no parameters cell"))
            for p in params.values():
                headless = "" if p.headless is NO_VALUE else "  (headless: %s)" % ts_literal(p.headless)
                print("  %s: %s = %s%s" % (p.name, type_text(p.members), ts_literal(p.default), headless))
        return 0
    spec = os.environ.get("RUN_NOTEBOOKS_KERNEL_SPEC")
    if spec and not os.path.isfile(spec):
        print("Kernel spec %s missing; registering it." % shown(spec), file=sys.stderr)
        subprocess.run(["bash", os.path.join(PROJECT_ROOT, "scripts", "jupyter", "install-kernel.sh")], stdout=sys.stderr, check=True)
    if args.timeout is None:
        args.timeout = None if any(n == "protocol" for n, _ in args.parameter) else int(os.environ.get("NOTEBOOK_CELL_TIMEOUT", "900"))
    elif args.timeout <= 0:
        args.timeout = None
    if args.output_dir:
        args.output_dir = os.path.abspath(args.output_dir)
    print("cell timeout: %s" % ("none" if args.timeout is None else "%d s" % args.timeout))
    ok = True
    started = time.time()
    for path, nb, index, values, sources, params in plans:
        print_parameters(path, values, sources, params)
        ok = run_one(path, nb, index, values, sources, args) and ok
    print("%s: %d notebook%s in %.1f s" % ("ok" if ok else "FAILED", len(plans), "" if len(plans) == 1 else "s", time.time() - started))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
