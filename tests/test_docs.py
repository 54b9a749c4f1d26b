"""The repository stands alone: its docs hold the facts the code relies on, and nothing points outside.

- No file in ``src/``, ``docs/``, ``benchmarks/``, ``tests/`` or the README refers to documents that do
  not ship with the project (a reference specification, design or style page, a ``../shared``
  folder): a citation names a page of ``docs/`` or a README instead.
- Every relative Markdown link in ``docs/*.md``, the README, the package READMEs and the weights'
  cards points at a file that exists, and, with a ``#anchor`` into a Markdown file, at a heading of it.
- Every ``docs/<page>.md`` named anywhere in the code, the tests, the benchmarks or the docs exists, and
  a section it names (``docs/data.md, "One scene"`` or ``docs/data.md#one-scene``) is a heading there.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve()

#: What a citation of a document outside the repository looks like. ``SPEC`` as a whole word only,
#: so that words such as SPECIFIC or SPECIAL do not count.
OUTSIDE = re.compile(r"\bSPEC\b|SPEC\.md|DESIGN\.md|STYLE\.md|\.\./shared\b|/work/shared\b")
TEXT_SUFFIXES = {".py", ".md", ".sh", ".toml", ".txt", ".cfg", ".ini", ".yaml", ".yml", ".json", ".html",
                 ".js", ".css", ".rst"}
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"}


def scanned_files() -> list[Path]:
    """Text files of src/, docs/, benchmarks/, tests/ and the top-level README, Makefile, pyproject."""
    files = [ROOT / name for name in ("README.md", "Makefile", "pyproject.toml") if (ROOT / name).is_file()]
    for top in ("src", "docs", "benchmarks", "tests"):
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path.suffix not in TEXT_SUFFIXES or path.resolve() == THIS:
                continue
            parts = set(path.relative_to(ROOT).parts)
            if parts & SKIP_PARTS or any(p.endswith(".egg-info") for p in parts):
                continue
            files.append(path)
    return files


def markdown_pages() -> list[Path]:
    """The pages whose links are checked: docs/*.md, the README, every README under src/, the cards."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "src").rglob("README.md"))]
    pages += sorted((ROOT / "weights").glob("*.md"))
    return [p for p in pages if p.is_file()]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


# --------------------------------------------------------------------------------------------------
# headings and GitHub's anchors
# --------------------------------------------------------------------------------------------------
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")


def without_code(text: str) -> str:
    """The text with fenced blocks and inline code spans blanked (a link inside code is not a link)."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return CODE_SPAN.sub("", text)


def headings(path: Path) -> list[str]:
    """The ATX headings of a Markdown file, outside fenced blocks, as written (without the #s)."""
    text = FENCE.sub("", read(path))
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", text, re.M)]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = unicodedata.normalize("NFC", text).lower()
    text = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in headings(path):
        base = slug(heading)
        n = seen.get(base, 0)
        out.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return out


def heading_text(heading: str) -> str:
    """A heading as plain words: no code marks, no link syntax, case folded, spaces collapsed."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")
    return " ".join(text.split()).casefold()


# --------------------------------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------------------------------
def test_the_scan_sees_the_tree():
    """The scans below look at something: a check over zero files checks nothing."""
    files = {p.relative_to(ROOT).as_posix() for p in scanned_files()}
    assert "README.md" in files and "src/igd/constants.py" in files and "docs/data.md" in files
    assert any(f.startswith("benchmarks/") for f in files) and any(f.startswith("tests/") for f in files)
    pages = {p.relative_to(ROOT).as_posix() for p in markdown_pages()}
    assert {"README.md", "docs/frames.md", "src/igd/planners/igd/README.md"} <= pages


def test_no_reference_to_documents_outside_the_repository():
    hits = []
    for path in scanned_files():
        for lineno, line in enumerate(read(path).splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()[:120]}")
    assert not hits, ("these lines cite documents that do not ship with the repository; cite the page "
                      "of docs/ (or the README) that states the fact instead:\n" + "\n".join(hits))


def test_the_pattern_catches_what_it_should():
    for cited in ("(SPEC.md §3)", "SPEC §9 step 4", "see DESIGN.md", "STYLE.md item 11", "../shared/peers/x.pth",
                  "/work/shared/SPEC.md"):
        assert OUTSIDE.search(cited), cited
    for fine in ("SPECIFIC", "SPECIAL, EXEMPLARY", "spectral", "shared/", "common/shared_x.py"):
        assert not OUTSIDE.search(fine), fine


LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)")


def test_relative_links_point_at_files_that_exist():
    broken, checked = [], 0
    for page in markdown_pages():
        for target in LINK.findall(without_code(read(page))):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
                continue
            checked += 1
            path_part, _, anchor = target.partition("#")
            dest = page if not path_part else (page.parent / path_part).resolve()
            where = f"{page.relative_to(ROOT)}: ({target})"
            if not dest.exists():
                broken.append(f"{where}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{where}: no heading with that anchor in {dest.relative_to(ROOT)}")
    assert checked > 20
    assert not broken, "broken links:\n" + "\n".join(broken)


#: ``docs/<page>.md``, optionally followed by ``#anchor`` or by ``, "Section"`` (any quote marks).
DOC_CITE = re.compile(r"""docs/([\w./-]+?\.md)(?:#([\w-]+)|,\s*["'“‘]([^"'”’\n]+)["'”’])?""")


def test_cited_doc_pages_and_sections_exist():
    broken, checked = [], 0
    for path in scanned_files():
        for lineno, line in enumerate(read(path).splitlines(), 1):
            for page, anchor, section in DOC_CITE.findall(line):
                dest = ROOT / "docs" / page
                checked += 1
                where = f"{path.relative_to(ROOT)}:{lineno}: docs/{page}"
                if not dest.is_file():
                    broken.append(f"{where}: no such page")
                elif anchor and anchor not in anchors(dest):
                    broken.append(f"{where}#{anchor}: no such heading")
                elif section and not any(heading_text(h).startswith(heading_text(section))
                                         for h in headings(dest)):
                    broken.append(f'{where}, "{section}": no heading starts with it')
    assert checked > 20
    assert not broken, "citations of doc pages that do not hold what they name:\n" + "\n".join(broken)


@pytest.mark.parametrize("heading, anchor", [
    ("Training throughput (issue 4, item 7)", "training-throughput-issue-4-item-7"),
    ("`stereo`, exactly", "stereo-exactly"),
    ("One scene (`igd.data.generate.generate_scene`)", "one-scene-igddatagenerategenerate_scene"),
    ("Conventions and fixed numbers", "conventions-and-fixed-numbers"),
])
def test_slug_follows_github(heading, anchor):
    assert slug(heading) == anchor
