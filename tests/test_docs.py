"""The docs inside the repository: README is a front page (<= 20 KB), every relative link in README.md and
docs/*.md resolves (file and #heading, GitHub's slug rules), and nothing user-facing names a path outside
the repository (a clone has none of it)."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")

def strip_code(text):
    out, fence = [], None
    for line in text.splitlines():
        m = re.match(r"^\s*(```+|~~~+)", line)
        if m:
            if fence is None: fence = m.group(1)[:3]
            elif line.strip().startswith(fence): fence = None
            out.append(""); continue
        out.append("" if fence else line)
    return out

def slug(h):
    h = re.sub(r"<[^>]+>", "", h)           # html tags
    h = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", h)  # links -> text
    h = h.strip().lower()
    h = "".join(c for c in h if c.isalnum() or c in " -_" or unicodedata.category(c).startswith("L"))
    return h.replace(" ", "-")

def anchors(path):
    seen, out = {}, set()
    for line in strip_code(path.read_text(encoding="utf-8")):
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if not m: continue
        s = slug(m.group(2))
        n = seen.get(s, 0); seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out



def _links():
    for f in FILES:
        for i, line in enumerate(strip_code(f.read_text(encoding="utf-8")), 1):
            for m in LINK.finditer(line):
                if not re.match(r"^[a-z]+:", m.group(1)):
                    yield f, i, m.group(1)


def test_readme_is_a_front_page():
    assert (ROOT / "README.md").stat().st_size <= 20 * 1024


def test_every_relative_link_resolves():
    bad, n = [], 0
    for f, i, target in _links():
        n += 1
        path, _, frag = target.partition("#")
        dest = (f.parent / path).resolve() if path else f
        where = f"{f.relative_to(ROOT)}:{i}: {target}"
        if ROOT not in dest.parents and dest != ROOT:
            bad.append(f"{where} is outside the repository")
        elif not dest.exists():
            bad.append(f"{where}: no such file")
        elif frag and dest.suffix == ".md" and frag not in anchors(dest):
            bad.append(f"{where}: no such heading")
    assert n > 50 and not bad, bad


@pytest.mark.parametrize("pattern", ["../shared", "STATISTICS.md", "DESIGN.md", "/work/"])
def test_nothing_points_outside_the_repository(pattern):
    files = FILES + [ROOT / "action.yml", ROOT / "runner" / "action.yml"] + sorted((ROOT / "gate").rglob("*.py"))
    assert not [str(f.relative_to(ROOT)) for f in files if pattern in f.read_text(encoding="utf-8")]
