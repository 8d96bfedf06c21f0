"""Jupyter protocol tests of the workspace's tslab (TypeScript) kernel.

jupyter_kernel_test.KernelTests (Debian python3-jupyter-kernel-test: the suite Jupyter's own
kernels are tested with) validates every message against the v5 message schemas: kernel_info,
execute (stdout, stderr), error, execute_result, display_data, completion, inspect, is_complete
(complete, incomplete, invalid) and history. The extra tests check what the workspace needs on top:
error names, messages and tracebacks that point at the cell's own line, TypeScript type errors with
line and type, Out[n] numbering, and rich values (danfo frames as HTML tables, Plotly figures as
offline interactive charts).

Run by test/kernel-protocol.test.ts (npm test) against the kernel registered by
`npm run kernel:install` (JUPYTER_PATH=<project>/.jupyter-local/share/jupyter), or by hand:
  npm run build && npm run kernel:install
  JUPYTER_PATH=$PWD/.jupyter-local/share/jupyter /usr/bin/python3 test/kernel/test_tslab_kernel.py -v
"""
import base64
import json
import os
import struct
import re
import sys
import unittest
from html.parser import HTMLParser

import jupyter_kernel_test

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DIST_INDEX = os.path.join(ROOT, "dist", "index")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class TableParser(HTMLParser):
    """Rows of the first <table>: header row then body rows, cell texts."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


class TslabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "tslab"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = "console.log('hello, world')"
    code_stderr = "console.error('to stderr')"
    completion_samples = [{"text": "Math.ma", "matches": {"max"}}]
    complete_code_samples = ["1 + 2", "const id = <T>(x: T) => x;", "const x = 1;", "function f() { return 1; }", "for (const i of [1]) {\n  console.log(i);\n}"]
    incomplete_code_samples = ["function f() {", "if (true) {\n  console.log(1);", "const a = [1, 2,"]
    invalid_code_samples = ["1 +* 2 )", "const = 5;", "function f() { ) }"]
    code_generate_error = "throw new Error('boom')"
    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "const six: number = 6;\nsix * 7", "result": "42"},
    ]
    code_display_data = [
        {"code": "import * as tslab from 'tslab';\ntslab.display.html('<b>bold</b>')", "mime": "text/html"},
        {"code": "import * as tslab from 'tslab';\ntslab.display.png(new Uint8Array([137, 80, 78, 71]))", "mime": "image/png"},
    ]
    code_history_pattern = "1 + ?"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "Math.max"

    # --- beyond jupyter_kernel_test -----------------------------------------------------------

    def run_cell(self, code):
        self.flush_channels()
        reply, outputs = self.execute_helper(code, timeout=120)
        return reply["content"], outputs

    def one(self, outputs, msg_type):
        found = [m for m in outputs if m["msg_type"] == msg_type]
        self.assertEqual(len(found), 1, "expected one %s in %s" % (msg_type, [m["msg_type"] for m in outputs]))
        return found[0]["content"]

    def test_kernel_info_status_ok(self):
        self.flush_channels()
        self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=15)
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(reply["content"]["implementation"], "tslab")

    def test_out_n_matches_execution_count(self):
        reply, outputs = self.run_cell("40 + 2")
        result = self.one(outputs, "execute_result")
        self.assertEqual(result["execution_count"], reply["execution_count"])
        self.assertEqual(result["data"], {"text/plain": "42"})
        reply2, _ = self.run_cell("1")
        self.assertEqual(reply2["execution_count"], reply["execution_count"] + 1)

    def test_no_result_for_statements_and_undefined(self):
        for code in ("const unused = 3;", "console.log('x')", "undefined", "null"):
            reply, outputs = self.run_cell(code)
            self.assertEqual(reply["status"], "ok", code)
            self.assertEqual([m for m in outputs if m["msg_type"] == "execute_result"], [], code)

    def test_error_names_message_and_cell_line(self):
        code = "const a = 1;\nfunction inner(): number {\n  throw new RangeError('out of range: ' + a);\n}\ninner();"
        reply, outputs = self.run_cell(code)
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "RangeError")
        self.assertEqual(reply["evalue"], "out of range: 1")
        err = self.one(outputs, "error")
        self.assertEqual((err["ename"], err["evalue"]), ("RangeError", "out of range: 1"))
        self.assertEqual([m["msg_type"] for m in outputs if m["msg_type"] == "stream"], [], "the error is not also printed")
        tb = ANSI.sub("", "\n".join(err["traceback"]))
        n = reply["execution_count"]
        # innermost frame: line 3 (the throw), then the caller on line 5, both in this cell
        self.assertRegex(tb, r"at inner \(Cell In\[%d\], line 3:\d+\)" % n)
        self.assertRegex(tb, r"Cell In\[%d\], line 5:\d+" % n)
        self.assertIn("throw new RangeError('out of range: ' + a);", tb)
        self.assertNotIn("__tslab_cell_", tb)
        self.assertNotIn("executor.js", tb)

    def test_error_in_function_of_an_earlier_cell(self):
        r1, _ = self.run_cell("function failLater(x: number): number {\n  if (x > 1) {\n    return (null as any).field;\n  }\n  return x;\n}")
        self.assertEqual(r1["status"], "ok")
        reply, outputs = self.run_cell("const y = 5;\nfailLater(y);")
        self.assertEqual(reply["ename"], "TypeError")
        self.assertIn("Cannot read properties of null", reply["evalue"])
        tb = ANSI.sub("", "\n".join(reply["traceback"]))
        self.assertRegex(tb, r"Cell In\[%d\], line 3:\d+" % r1["execution_count"])
        self.assertRegex(tb, r"Cell In\[%d\], line 2:\d+" % reply["execution_count"])

    def test_library_error_frames_point_at_its_source_relative(self):
        # an error thrown inside the compiled workspace: its frames go through dist/'s source maps to
        # src/*.ts, by a path relative to the kernel's folder, never the machine's absolute dist/ path
        reply, outputs = self.run_cell("import * as ws from %s;\nws.getProtocol('no-such-protocol');" % json.dumps(DIST_INDEX))
        self.assertEqual((reply["status"], reply["ename"]), ("error", "ConfigError"))
        tb = ANSI.sub("", "\n".join(reply["traceback"]))
        self.assertRegex(tb, r"at \S*getProtocol \((\.\./)*src/runs/protocols\.ts:\d+:\d+\)")
        frames = "\n".join(line for line in tb.splitlines() if line.lstrip().startswith("at "))
        self.assertNotIn(ROOT, frames)
        self.assertNotIn("dist/", frames)
        self.assertRegex(tb, r"Cell In\[%d\], line 2:\d+" % reply["execution_count"])

    def test_async_error(self):
        reply, outputs = self.run_cell("await new Promise((r) => setTimeout(r, 10));\nthrow new SyntaxError('late');")
        self.assertEqual((reply["status"], reply["ename"], reply["evalue"]), ("error", "SyntaxError", "late"))
        self.one(outputs, "error")

    def test_typescript_type_error_names_line_and_type(self):
        reply, outputs = self.run_cell("const ok = 1;\nconst s: number = 'not a number';")
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "TSError")
        # TypeScript's own message for TS2322
        self.assertIn("line 2", reply["evalue"])
        self.assertIn("Type 'string' is not assignable to type 'number'.", reply["evalue"])
        self.assertIn("TS2322", reply["evalue"])
        tb = ANSI.sub("", "\n".join(self.one(outputs, "error")["traceback"]))
        self.assertIn("line 2:7", tb)
        self.assertIn("const s: number = 'not a number';", tb)

    def test_stop_on_error_false_does_not_abort_the_next_request(self):
        self.flush_channels()
        self.kc.execute("throw new Error('first')", stop_on_error=False)
        self.kc.execute("'second'")
        replies = [self.get_non_kernel_info_reply(timeout=60) for _ in range(2)]
        self.assertEqual([r["content"]["status"] for r in replies], ["error", "ok"])

    def test_requests_queued_before_an_error_are_aborted_later_ones_run(self):
        self.flush_channels()
        ids = [self.kc.execute(code) for code in ("throw new Error('first')", "'queued 1'", "'queued 2'")]
        replies = [self.get_non_kernel_info_reply(timeout=60) for _ in ids]
        self.assertEqual([r["parent_header"]["msg_id"] for r in replies], ids)
        self.assertEqual([r["content"]["status"] for r in replies], ["error", "abort", "abort"])
        # sent right after the error reply (no pause): runs
        self.kc.execute("'after'")
        self.assertEqual(self.get_non_kernel_info_reply(timeout=60)["content"]["status"], "ok")

    def test_danfo_frame_is_an_html_table(self):
        code = (
            "import * as ws from %s;\n"
            "const df = new (ws.dfd().DataFrame)({ arm: ['step', 'cosine'], epochs: [31, 21.5] });\n"
            "df" % json.dumps(DIST_INDEX)
        )
        reply, outputs = self.run_cell(code)
        self.assertEqual(reply["status"], "ok", reply)
        data = self.one(outputs, "execute_result")["data"]
        self.assertIn("text/plain", data)
        for word in ("arm", "epochs", "step", "cosine", "21.5"):
            self.assertIn(word, data["text/plain"])
        p = TableParser()
        p.feed(data["text/html"])
        self.assertEqual(p.rows, [["", "arm", "epochs"], ["0", "step", "31"], ["1", "cosine", "21.5"]])
        # a Series (one column) too
        reply, outputs = self.run_cell("df['epochs']")
        p = TableParser()
        p.feed(self.one(outputs, "execute_result")["data"]["text/html"])
        self.assertEqual(p.rows, [["", "epochs"], ["0", "31"], ["1", "21.5"]])

    def test_plotly_figure_is_an_offline_interactive_chart(self):
        code = (
            "import * as ws from %s;\n"
            "ws.scheduleFigure([{ name: 'demo', learningRates: [0.1, 0.05, 0.01] }])" % json.dumps(DIST_INDEX)
        )
        reply, outputs = self.run_cell(code)
        self.assertEqual(reply["status"], "ok", reply)
        data = self.one(outputs, "execute_result")["data"]
        html = data["text/html"]
        self.assertIn("Plotly.newPlot", html)
        self.assertIn("[0.1,0.05,0.01]", html.replace(" ", ""))
        self.assertNotRegex(html, r"<script[^>]+src=", "no CDN / external script")
        with open(os.path.join(ROOT, "node_modules", "plotly.js-dist", "package.json")) as f:
            version = json.load(f)["version"]
        if "loaded (offline" in html:  # the first figure of the session carries plotly.js itself
            self.assertIn("plotly.js %s loaded" % version, html)
            self.assertGreater(len(html), 1_000_000)
        self.assertTrue(data["text/plain"].startswith("Plotly figure"), data["text/plain"])
        # its static picture, rendered by Chromium: image/png (900 px wide) and the same PNG inside the HTML
        png = base64.b64decode(data["image/png"])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(struct.unpack(">I", png[16:20])[0], 900)
        self.assertIn('<img class="ws-static-figure" src="data:image/png;base64,%s"' % data["image/png"], html)
        # a second figure does not carry plotly.js again
        reply, outputs = self.run_cell("ws.scheduleFigure([{ name: 'again', learningRates: [0.2, 0.1] }])")
        data2 = self.one(outputs, "execute_result")["data"]
        html2 = data2["text/html"]
        self.assertLess(len(html2), 200_000)
        self.assertIn("Plotly.newPlot", html2)
        self.assertNotEqual(data2["image/png"], data["image/png"])

    def test_other_objects_keep_text_plain(self):
        reply, outputs = self.run_cell("({ a: 1, b: [1, 2] })")
        self.assertEqual(self.one(outputs, "execute_result")["data"], {"text/plain": "{ a: 1, b: [ 1, 2 ] }"})

    def test_history_has_outputs(self):
        self.run_cell("2 + 5")
        self.flush_channels()
        self.kc.history(hist_access_type="tail", n=1, output=True, raw=True)
        reply = self.get_non_kernel_info_reply(timeout=15)
        self.assertEqual(reply["content"]["history"][0][2], ["2 + 5", "7"])


if __name__ == "__main__":
    unittest.main()
