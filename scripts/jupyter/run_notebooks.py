"""Execute Jupyter notebooks headless with nbclient and report failures precisely.

Usage: run_notebooks.py [--kernel tslab] [--timeout SECONDS] [--startup-timeout SECONDS]
                        [--output-dir DIR] [--save-on-error] NOTEBOOK...

Each notebook runs with its own folder as the working directory. Outputs are saved back into the
notebook (atomically) or, with --output-dir, into DIR/<name>.ipynb. A cell fails when its
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
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellControlSignal, CellExecutionError, CellTimeoutError, DeadKernelError

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


def run_one(path, args):
    nb = nbformat.read(path, as_version=4)
    workdir = os.path.dirname(os.path.abspath(path))
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
            print("FAILED: %s: could not run the notebook: %s: %s" % (path, type(e).__name__, e), file=sys.stderr)
            return False
        failure = ("%s: %s" % (type(e).__name__, e), None)

    out_path = os.path.join(args.output_dir, os.path.basename(path)) if args.output_dir else path
    if failure is None:
        write_notebook_atomic(nb, out_path)
        print("ok     %s (%.1fs) -> %s" % (path, time.time() - started, out_path))
        return True
    index = state["index"]
    cell = nb.cells[index] if index is not None and index < len(nb.cells) else None
    print(describe_failure(path, index, cell, failure[0], failure[1]), file=sys.stderr)
    if args.output_dir or args.save_on_error:
        write_notebook_atomic(nb, out_path)
        print("partial outputs saved to %s" % out_path, file=sys.stderr)
    return False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--kernel", default="tslab", help="kernel name (default tslab)")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("NOTEBOOK_CELL_TIMEOUT", "900")), help="seconds per cell (default 900 or $NOTEBOOK_CELL_TIMEOUT)")
    ap.add_argument("--startup-timeout", type=int, default=180, help="seconds for the kernel to start (default 180)")
    ap.add_argument("--output-dir", help="write executed notebooks here instead of in place")
    ap.add_argument("--save-on-error", action="store_true", help="also save a failed notebook in place (its partial outputs)")
    args = ap.parse_args(argv)
    ok = True
    for path in args.notebooks:
        if not os.path.isfile(path):
            print("error: no such notebook: %s" % path, file=sys.stderr)
            return 2
    for path in args.notebooks:
        ok = run_one(path, args) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
