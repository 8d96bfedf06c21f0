"""Drives a real tslab kernel (jupyter_client) through Kernel > Interrupt of a training cell.

Usage: interrupt_driver.py ROOT STORE WORKERS
Starts kernel "tslab" (JUPYTER_PATH must find it), runs a cell that trains the quick protocol with
`ws.runProtocol` (no signal given), sends SIGINT to the kernel (KernelManager.interrupt_kernel, as
Jupyter's Kernel > Interrupt does) after the first epoch line, then runs a second cell that waits
10 s, then a cell that sleeps 60 s without taking the signal and is interrupted too. Prints one JSON object: per cell its reply status, ename/evalue, stream text, error outputs,
and the seconds from the interrupt to the reply.
"""
import json
import sqlite3
import sys
import time

from jupyter_client import KernelManager

root, store, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
km = KernelManager(kernel_name="tslab")
km.start_kernel(cwd=root)
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=120)


def run(code, interrupt_on=None, timeout=600):
    """Executes code; sends an interrupt when interrupt_on appears in its stream output."""
    msg_id = kc.execute(code)
    cell = {"stream": "", "errors": [], "interrupted_at": None}
    deadline = time.time() + timeout
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except Exception:
            if time.time() > deadline:
                raise RuntimeError("no idle status in %d s: %r" % (timeout, cell))
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        t, c = msg["msg_type"], msg["content"]
        if t == "stream":
            cell["stream"] += c["text"]
            if interrupt_on and cell["interrupted_at"] is None and interrupt_on in cell["stream"]:
                # as a person would, not within the same millisecond: a SIGINT that lands while Node
                # runs the cell's synchronous start (vm breakOnSigint) can be lost by Node itself
                time.sleep(0.5)
                cell["interrupted_at"] = time.time()
                km.interrupt_kernel()
        elif t == "error":
            cell["errors"].append({"ename": c["ename"], "evalue": c["evalue"], "traceback": c["traceback"]})
        elif t == "status" and c["execution_state"] == "idle":
            break
    while True:
        shell = kc.get_shell_msg(timeout=60)
        if shell["parent_header"].get("msg_id") == msg_id:
            break
    reply = shell["content"]
    cell["status"] = reply["status"]
    cell["ename"] = reply.get("ename")
    cell["evalue"] = reply.get("evalue")
    if cell["interrupted_at"] is not None:
        cell["seconds_to_reply"] = time.time() - cell["interrupted_at"]
    return cell


def epoch_count():
    """Epoch rows in the store, read with Python's sqlite3 (not the workspace's code)."""
    with sqlite3.connect("file:%s?mode=ro" % store, uri=True) as db:
        return db.execute("SELECT COUNT(*) FROM epochs").fetchone()[0]


out = {}
try:
    out["setup"] = run("import * as ws from %s;\nconst store = %s;" % (json.dumps(root + "/dist/index"), json.dumps(store)))
    out["train"] = run(
        "await ws.runProtocol({ protocol: 'quick', overrides: { seeds: 3, maxEpochs: 6, trainFraction: 0.2 }, "
        "results: store, workers: %d, progressBar: false });\nconsole.log('after the protocol');" % workers,
        interrupt_on=" epoch 1/6 ")
    out["epochs_at_interrupt_reply"] = epoch_count()
    out["next"] = run("await new Promise((r) => setTimeout(r, 10000));\nconsole.log('next cell done');")
    out["epochs_after_next"] = epoch_count()
    out["sleep"] = run("console.log('sleeping');\nawait new Promise((r) => setTimeout(r, 60000));", interrupt_on="sleeping")
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
with sqlite3.connect("file:%s?mode=ro" % store, uri=True) as db:
    out["runs"] = [dict(zip(("arm", "seed", "status", "lease_owner", "epochs"), r)) for r in db.execute(
        "SELECT arm, seed, status, lease_owner, (SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.run_id) FROM runs r ORDER BY arm, seed")]
    out["planned"] = db.execute("SELECT COUNT(*) FROM planned_runs").fetchone()[0]
print(json.dumps(out))
