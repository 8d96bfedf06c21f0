"""Notebooks as text: every notebooks/NAME.ipynb has a paired NAME.ts in jupytext's `ts:percent`
format, so that reviews and diffs read as code and jupytext users open either file.

The format (jupytext's percent format for TypeScript, whose comment is `//`):

    // ---
    // jupyter:
    //   jupytext:
    //     formats: ipynb,ts:percent
    //     text_representation: ...
    //   kernelspec: ...
    // ---

    // %% [markdown]
    // # A heading
    // markdown lines, each behind `// ` (an empty line is `//`)

    // %% tags=["parameters"]
    let code = 'as it is';

    // %% [raw] tags=["injected-parameters"]
    // raw lines, commented as markdown

Cells are separated by one empty line; the text holds the cells' sources only (no outputs).

`npm run notebooks` (run_notebooks.py) keeps the pairs in sync: before a notebook runs, a pair
edited after the notebook (newer and different) gives the notebook its cells (jupytext's rule:
the newer file's inputs win); after the run, the pair is written from the notebook saved.
By hand: `python3 scripts/jupyter/pairing.py` writes every pair, `--check` only compares them
(exit status 1 naming the notebooks whose pair is missing or differs).
"""
import json
import os
import sys

FORMAT = "ts:percent"
COMMENT = "//"
HEADER_KEYS = ("kernelspec",)


def _tags(cell):
    tags = (cell.get("metadata") or {}).get("tags") or []
    return ' tags=%s' % json.dumps(list(tags)) if tags else ""


def _source(cell):
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _commented(text):
    return "\n".join(COMMENT if line == "" else "%s %s" % (COMMENT, line) for line in text.split("\n"))


def header(nb):
    """The jupytext YAML header of the text file (kernelspec of the notebook), as `//` lines."""
    ks = (nb.get("metadata") or {}).get("kernelspec") or {}
    lines = ["---", "jupyter:", "  jupytext:", "    formats: ipynb,%s" % FORMAT, "    text_representation:",
             "      extension: .ts", "      format_name: percent", "      format_version: '1.3'", "      jupytext_version: 1.16.4"]
    if ks:
        lines.append("  kernelspec:")
        lines += ["    %s: %s" % (k, ks[k]) for k in ("display_name", "language", "name") if k in ks]
    lines.append("---")
    return "\n".join("%s %s" % (COMMENT, line) for line in lines)


def to_percent(nb):
    """The notebook (a dict as nbformat reads it) as ts:percent text."""
    parts = [header(nb)]
    for cell in nb["cells"]:
        kind = cell["cell_type"]
        src = _source(cell).rstrip("\n")
        if kind == "code":
            parts.append("%s %%%%%s\n%s" % (COMMENT, _tags(cell), src) if src else "%s %%%%%s" % (COMMENT, _tags(cell)))
        else:
            parts.append("%s %%%% [%s]%s\n%s" % (COMMENT, kind, _tags(cell), _commented(src)) if src else "%s %%%% [%s]%s" % (COMMENT, kind, _tags(cell)))
    return "\n\n".join(parts) + "\n"


def from_percent(text):
    """The cells of ts:percent text: [{cell_type, source, tags}] (the header is skipped)."""
    cells, current = [], None
    lines = text.split("\n")
    i = 0
    if lines and lines[0] == "%s ---" % COMMENT:
        i = 1
        while i < len(lines) and lines[i] != "%s ---" % COMMENT:
            i += 1
        i += 1
    for line in lines[i:]:
        if line.startswith("%s %%%%" % COMMENT):
            rest = line[len(COMMENT) + 3:].strip()
            kind = "code"
            if rest.startswith("["):
                kind, rest = rest[1:rest.index("]")], rest[rest.index("]") + 1:].strip()
            tags = json.loads(rest[len("tags="):]) if rest.startswith("tags=") else []
            current = {"cell_type": kind, "lines": [], "tags": tags}
            cells.append(current)
        elif current is not None:
            current["lines"].append(line)
    out = []
    for c in cells:
        body = "\n".join(c["lines"]).rstrip("\n")
        if c["cell_type"] != "code":
            body = "\n".join(l[len(COMMENT) + 1:] if l.startswith(COMMENT + " ") else l[len(COMMENT):] if l.startswith(COMMENT) else l for l in body.split("\n"))
        out.append({"cell_type": c["cell_type"], "source": body, "tags": c["tags"]})
    return out


def pair_path(nb_path):
    """notebooks/NAME.ipynb -> notebooks/NAME.ts"""
    return os.path.splitext(nb_path)[0] + ".ts"


def write_pair(nb, nb_path):
    """Writes the pair of the notebook `nb` saved at nb_path (atomically). Returns its path."""
    target = pair_path(nb_path)
    tmp = "%s.%d.tmp" % (target, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(to_percent(nb))
    os.replace(tmp, target)
    return target


def pair_differs(nb, nb_path):
    """None when the pair exists and holds the notebook's cells; else why not."""
    target = pair_path(nb_path)
    if not os.path.exists(target):
        return "%s is missing" % os.path.basename(target)
    with open(target, encoding="utf-8") as f:
        text = f.read()
    return None if text == to_percent(nb) else "%s differs from the notebook's cells" % os.path.basename(target)


def sync_from_pair(nb, nb_path, new_cell):
    """When the pair is newer than the notebook and its cells differ, the notebook takes the pair's
    cells (sources and tags; outputs are dropped, the run makes them). `new_cell(kind, source)` makes
    an nbformat cell. Returns True when the notebook changed."""
    target = pair_path(nb_path)
    if not os.path.exists(target) or os.path.getmtime(target) <= os.path.getmtime(nb_path) or pair_differs(nb, nb_path) is None:
        return False
    with open(target, encoding="utf-8") as f:
        cells = from_percent(f.read())
    nb.cells = []
    for c in cells:
        cell = new_cell(c["cell_type"], c["source"])
        if c["tags"]:
            cell.metadata["tags"] = c["tags"]
        nb.cells.append(cell)
    return True


def main(argv):
    check = "--check" in argv
    names = [a for a in argv if a != "--check"]
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "notebooks")
    paths = names or sorted(os.path.join(root, f) for f in os.listdir(root) if f.endswith(".ipynb"))
    bad = 0
    for p in paths:
        with open(p, encoding="utf-8") as f:
            nb = json.load(f)
        if check:
            why = pair_differs(nb, p)
            if why:
                bad += 1
                print("%s: %s" % (os.path.relpath(p), why), file=sys.stderr)
        else:
            print("wrote %s" % os.path.relpath(write_pair(nb, p)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
