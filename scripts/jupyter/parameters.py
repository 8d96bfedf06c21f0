"""Notebook parameters in papermill's convention, for the TypeScript (tslab) notebooks.

A notebook has exactly one code cell tagged ``parameters``. Apart from blank lines and ``//``
comment lines, each of its lines declares one parameter::

    let NAME: TYPE = LITERAL; // headless: LITERAL. free text

* TYPE (optional; inferred from LITERAL when absent) is a union (``|``) of ``string``, ``number``,
  ``boolean``, ``null``, ``undefined``, string literals (``'auto' | 'wasm'``), ``string[]`` and
  ``number[]``.
* LITERAL is a TypeScript literal: a string ('...' or "..."), a number, true/false, null, undefined
  or an array of those.
* ``// headless: LITERAL`` (optional) is the value used by a headless run (``npm run notebooks``)
  when the command line does not give one: it keeps long computations out of a default headless run
  while the cell shows the interactive default.

Values given on the command line (``-p NAME VALUE``) are parsed according to TYPE: ``null`` and
``undefined`` when the type allows them, ``true``/``false`` for booleans, numbers for ``number``,
one of the literals, any text for ``string``, and for arrays a comma-separated list (``step,cosine``)
or a literal (``['step']``). They are injected as assignments (``NAME = LITERAL;``) in a cell tagged
``injected-parameters`` right after the parameters cell.
"""
import math
import re

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
NO_VALUE = object()


class Undefined:
    """TypeScript's undefined (None is null)."""

    def __repr__(self):
        return "undefined"


UNDEFINED = Undefined()


class ParameterError(Exception):
    """A bad parameters cell or a bad -p NAME VALUE; the message is one line."""


NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0", "\\": "\\", "'": "'", '"': '"'}


def parse_literal(text, pos=0):
    """Parses one TypeScript literal at text[pos:] (leading spaces allowed). Returns (value, end)."""
    n = len(text)
    while pos < n and text[pos] in " \t":
        pos += 1
    if pos >= n:
        raise ValueError("a value is missing")
    c = text[pos]
    if c in "'\"":
        out, i = [], pos + 1
        while i < n and text[i] != c:
            if text[i] == "\\" and i + 1 < n:
                e = text[i + 1]
                if e == "u" and re.match(r"[0-9a-fA-F]{4}", text[i + 2:i + 6]):
                    out.append(chr(int(text[i + 2:i + 6], 16)))
                    i += 6
                    continue
                out.append(ESCAPES.get(e, e))
                i += 2
                continue
            out.append(text[i])
            i += 1
        if i >= n:
            raise ValueError("unterminated string")
        return "".join(out), i + 1
    if c == "[":
        items, i = [], pos + 1
        while True:
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] == "]":
                return items, i + 1
            value, i = parse_literal(text, i)
            items.append(value)
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] == ",":
                i += 1
            elif not (i < n and text[i] == "]"):
                raise ValueError("expected , or ] in an array")
    m = NUMBER.match(text, pos)
    if m:
        return number_value(m.group(0)), m.end()
    m = IDENT.match(text, pos)
    if m and m.group(0) in ("true", "false", "null", "undefined"):
        return {"true": True, "false": False, "null": None, "undefined": UNDEFINED}[m.group(0)], m.end()
    raise ValueError("not a literal: %s" % text[pos:pos + 30])


def number_value(s):
    v = float(s)
    if not math.isfinite(v):
        raise ValueError("not a finite number: %s" % s)
    return int(s) if re.fullmatch(r"-?\d+", s) else v


def parse_type(text):
    """Union members of a type annotation: 'string', 'number', 'boolean', 'null', 'undefined',
    ('lit', s) or ('array', 'string' | 'number')."""
    members = []
    for part in split_outside_quotes(text, "|"):
        t = part.strip()
        if t.startswith("(") and t.endswith(")"):
            members.extend(parse_type(t[1:-1]))
        elif t in ("string", "number", "boolean", "null", "undefined"):
            members.append(t)
        elif t in ("string[]", "number[]", "Array<string>", "Array<number>"):
            members.append(("array", "string" if "string" in t else "number"))
        elif t[:1] in "'\"" and t:
            value, end = parse_literal(t)
            if end != len(t) or not isinstance(value, str):
                raise ValueError("bad string literal type %s" % t)
            members.append(("lit", value))
        else:
            raise ValueError("type %r is not supported (string, number, boolean, null, undefined, 'literal', string[], number[])" % t)
    return members


def split_outside_quotes(text, sep):
    parts, cur, quote = [], [], None
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def infer_type(value):
    if isinstance(value, bool):
        return ["boolean"]
    if isinstance(value, (int, float)):
        return ["number"]
    if isinstance(value, str):
        return ["string"]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return [("array", "string")]
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [("array", "number")]
    raise ValueError("give the parameter a type annotation (its default %s does not tell the type)" % ts_literal(value))


def conforms(value, members):
    for m in members:
        if m == "string" and isinstance(value, str):
            return True
        if m == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if m == "boolean" and isinstance(value, bool):
            return True
        if m == "null" and value is None:
            return True
        if m == "undefined" and value is UNDEFINED:
            return True
        if isinstance(m, tuple) and m[0] == "lit" and value == m[1] and isinstance(value, str):
            return True
        if isinstance(m, tuple) and m[0] == "array" and isinstance(value, list) and all(conforms(v, [m[1]]) for v in value):
            return True
    return False


def type_text(members):
    return " | ".join(ts_literal(m[1]) if isinstance(m, tuple) and m[0] == "lit" else ("%s[]" % m[1] if isinstance(m, tuple) else m) for m in members)


def ts_literal(value):
    """A Python value as a TypeScript literal (strings single-quoted)."""
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(ts_literal(v) for v in value) + "]"
    if isinstance(value, str):
        out = []
        for ch in value:
            if ch in "\\'":
                out.append("\\" + ch)
            elif ch == "\n":
                out.append("\\n")
            elif ord(ch) < 0x20 or ch in "\u2028\u2029":
                out.append("\\u%04x" % ord(ch))
            else:
                out.append(ch)
        return "'" + "".join(out) + "'"
    raise TypeError("no TypeScript literal for %r" % (value,))


class Parameter:
    def __init__(self, name, members, default, headless, line):
        self.name, self.members, self.default, self.headless, self.line = name, members, default, headless, line


DECL = re.compile(r"^\s*let\s+([A-Za-z_$][A-Za-z0-9_$]*)\s*(?::(.*?))?=(.*)$")


def parameters_cell_index(nb, where):
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and PARAMETERS_TAG in (c.metadata.get("tags") or [])]
    if len(found) != 1:
        raise ParameterError("%s: %s code cell tagged %r (exactly one is needed)" % (where, "no" if not found else "more than one", PARAMETERS_TAG))
    return found[0]


def read_parameters(nb, where):
    """The parameters cell's index and its parameters (a dict name -> Parameter, in cell order);
    (None, {}) for a notebook without a cell tagged parameters (it runs as it is)."""
    if not any(PARAMETERS_TAG in (c.metadata.get("tags") or []) for c in nb.cells):
        return None, {}
    index = parameters_cell_index(nb, where)
    params = {}
    source = nb.cells[index].source
    for lineno, line in enumerate(source.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("//"):
            continue
        m = DECL.match(line)
        if not m:
            raise ParameterError("%s: parameters cell line %d is not `let NAME: TYPE = LITERAL;`: %s" % (where, lineno, s))
        name, annotation, rest = m.group(1), m.group(2), m.group(3)
        try:
            default, end = parse_literal(rest)
            tail = rest[end:].strip()
            if tail.startswith(";"):
                tail = tail[1:].strip()
            headless = NO_VALUE
            if tail and not tail.startswith("//"):
                raise ValueError("unexpected %r after the value" % tail[:30])
            comment = tail[2:].strip()
            if comment.startswith("headless:"):
                headless, _ = parse_literal(comment, len("headless:"))
            members = parse_type(annotation) if annotation and annotation.strip() else infer_type(default)
            for label, value in (("default", default), ("headless value", headless)):
                if value is not NO_VALUE and not conforms(value, members):
                    raise ValueError("%s %s is not %s" % (label, ts_literal(value), type_text(members)))
        except ValueError as e:
            raise ParameterError("%s: parameters cell line %d (%s): %s" % (where, lineno, name, e))
        if name in params:
            raise ParameterError("%s: parameters cell declares %s twice" % (where, name))
        params[name] = Parameter(name, members, default, headless, lineno)
    if not params:
        raise ParameterError("%s: the parameters cell declares no parameter" % where)
    return index, params


def parse_cli_value(text, param, where):
    """The value of `-p NAME TEXT` for `param`. @raises ParameterError naming it"""
    members = param.members
    if text == "null" and "null" in members:
        return None
    if text == "undefined" and "undefined" in members:
        return UNDEFINED
    if "boolean" in members and text in ("true", "false"):
        return text == "true"
    if "number" in members and NUMBER.fullmatch(text.strip()):
        return number_value(text.strip())
    if any(isinstance(m, tuple) and m[0] == "lit" and m[1] == text for m in members):
        return text
    if "string" in members:
        return text
    arrays = [m for m in members if isinstance(m, tuple) and m[0] == "array"]
    for m in arrays:
        try:
            if text.strip().startswith("["):
                value, end = parse_literal(text.strip())
                if end != len(text.strip()):
                    continue
            else:
                items = [t.strip() for t in text.split(",")] if text.strip() else []
                value = [number_value(t) if m[1] == "number" and NUMBER.fullmatch(t) else t for t in items]
        except ValueError:
            continue
        if conforms(value, [m]):
            return value
    raise ParameterError("%s: parameter %s must be %s, got %r" % (where, param.name, type_text(members), text))


def strip_injected(nb):
    """Removes the cells tagged injected-parameters (of an earlier run)."""
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in (c.metadata.get("tags") or [])]


def injected_source(values, sources):
    """Source of the injected cell: one assignment per value, then a line printing them."""
    lines = ["// Injected by `npm run notebooks` (scripts/jupyter/run_notebooks.py): parameters of this run"]
    for name, value in values.items():
        lines.append("%s = %s; // %s" % (name, ts_literal(value), sources[name]))
    summary = ", ".join("%s = %s (%s)" % (n, ts_literal(v), sources[n]) for n, v in values.items())
    lines.append("console.log(%s);" % ts_literal("injected parameters: " + summary))
    return "\n".join(lines)
