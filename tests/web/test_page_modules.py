"""The page's pure modules, run in the browser: patch parsing and error-field paths."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server_process import ServerProcess

pytestmark = pytest.mark.e2e

PATCH = """\
diff --git a/calc.py b/calc.py
index 1111111..2222222 100644
--- a/calc.py
+++ b/calc.py
@@ -1,3 +1,3 @@
 def add(a, b):
--- not a header, a removed line
+++ not a header, an added line
@@ -10,2 +10,3 @@ def sub(a, b):
 x = 1
+y = 2
 z = 3
diff --git a/new file.txt b/new file.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/new file.txt
@@ -0,0 +1 @@
+hello
\\ No newline at end of file
diff --git a/old.txt b/old.txt
deleted file mode 100644
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..4444444
GIT binary patch
literal 5
McmZ?wbhEHbD

literal 0
HcmV?d00001

diff --git a/a.txt b/b.txt
similarity index 100%
rename from a.txt
rename to b.txt
"""


def run_module(page: Any, server: ServerProcess, module: str, body: str, arg: Any) -> Any:
    page.goto(f"{server.url}/#/")
    script = f"async (arg) => {{ const m = await import('/static/js/{module}'); {body} }}"
    return page.evaluate(script, arg)


def test_parse_patch(page: Any, web_server: ServerProcess) -> None:
    files = run_module(
        page,
        web_server,
        "diff_parse.js",
        "return m.parsePatch(arg).map(f => ({path: f.path, status: f.status, binary: f.binary,"
        " add: f.additions, del: f.deletions, old: f.oldPath,"
        " lines: f.lines.map(l => [l.kind, l.oldNo, l.newNo, l.text])}));",
        PATCH,
    )
    summary = [(f["path"], f["status"], f["binary"], f["add"], f["del"]) for f in files]
    assert summary == [
        ("calc.py", "modified", False, 2, 1),
        ("new file.txt", "added", False, 1, 0),
        ("old.txt", "deleted", False, 0, 1),
        ("logo.png", "added", True, 0, 0),
        ("b.txt", "renamed", False, 0, 0),
    ]
    calc = files[0]["lines"]
    assert calc[2] == ["del", 2, None, "-- not a header, a removed line"]
    assert calc[3] == ["add", None, 2, "++ not a header, an added line"]
    assert calc[4][0] == "hunk"
    assert calc[6] == ["add", None, 11, "y = 2"]
    assert files[1]["lines"][-1][0] == "meta"
    assert files[3]["lines"] == []
    assert files[4]["old"] == "a.txt"


def test_server_error_locations_become_form_fields(page: Any, web_server: ServerProcess) -> None:
    raw = [
        "repo_url",
        "github_url",
        "variations.int",
        "variations.list[function-after[_command_matches_kind(), VariationSpec]].0.model",
        "variations.list[function-after[_x(), VariationSpec]].2",
        "agent_config.env",
    ]
    paths = run_module(page, web_server, "api.js", "return arg.map(f => m.normalizeField(f));", raw)
    assert paths == [
        "repo_url",
        "repo_url",
        "variations",
        "variations.0.model",
        "variations.2",
        "agent_config.env",
    ]


def test_agent_markdown_is_built_from_text_nodes(page: Any, web_server: ServerProcess) -> None:
    source = (
        "# Plan\n"
        "Use `a<b>` and **bold** and *it* [site](javascript:alert(1)).\n"
        "- one <img src=x onerror=alert(1)>\n"
        "- two\n\n"
        "```\n<script>window.__pwned = 1</script>\n```\n"
        "<b>raw</b>"
    )
    shape = run_module(
        page,
        web_server,
        "markdown.js",
        "const root = document.createElement('div'); root.append(m.renderMarkdown(arg));"
        " return {tags: [...root.querySelectorAll('*')].map(e => e.tagName.toLowerCase()),"
        " attrs: [...root.querySelectorAll('*')].flatMap(e => e.getAttributeNames()),"
        " code: [...root.querySelectorAll('code')].map(e => e.textContent),"
        " text: root.textContent, pwned: window.__pwned ?? null};",
        source,
    )
    allowed = {"p", "code", "strong", "em", "span", "ul", "li", "pre"}
    assert set(shape["tags"]) <= allowed, shape["tags"]
    assert set(shape["attrs"]) <= {"class", "title"}, shape["attrs"]
    assert shape["code"] == ["a<b>", "<script>window.__pwned = 1</script>"]
    assert "<img src=x onerror=alert(1)>" in shape["text"] and "<b>raw</b>" in shape["text"]
    assert shape["tags"].count("li") == 2 and "strong" in shape["tags"] and "em" in shape["tags"]
    assert shape["pwned"] is None


def test_outcome_headlines(page: Any, web_server: ServerProcess) -> None:
    passed = {"status": "succeeded", "exit_code": 0, "check": {"passed": True, "exit_code": 0}}
    cases = [
        passed,
        {"status": "succeeded", "exit_code": 0, "check": {"passed": False, "exit_code": 1}},
        {"status": "succeeded", "exit_code": 0, "check": None, "diff_stats": {"files": 2}},
        {"status": "succeeded", "exit_code": 0, "check": None, "diff_stats": {"files": 0}},
        {"status": "failed", "score": None, "diff_stats": None, "error": "clone failed: x\ny"},
        {"status": "running"},
    ]
    got = run_module(page, web_server, "outcome.js", "return arg.map(v => m.outcomeOf(v));", cases)
    assert [(o["kind"], o["label"]) for o in got] == [
        ("passed", "Check passed"),
        ("failed", "Check failed"),
        ("unchecked", "Not checked"),
        ("no-change", "No change"),
        ("error", "Error"),
        ("working", "Running"),
    ]
    assert got[4]["detail"] == "clone failed: x"
    assert got[0]["detail"] == "agent exited 0"
