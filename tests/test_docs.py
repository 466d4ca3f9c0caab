"""The documentation stays short, reachable and true to the repository: README.md is a page, every
docs/ page is linked from it, every path and link it names exists, every environment variable the
settings read is in docs/configuration.md, and no issue number is left in the docs or the sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
DOC_FILES = [README, *sorted(DOCS.glob("*.md"))]

README_MAX_LINES = 150
# Backticked paths ending like this must exist (relative to the repository root).
CHECKED_SUFFIXES = (".py", ".md", ".html", ".yml", ".toml")
# Other backticked paths are checked when they start with one of the repository's own top-level
# entries (so `ERP_DROP_DIR/customers.json` or `done/` are not taken for repository paths).
NOT_IN_REPOSITORY = {".git", ".venv", "var", "node_modules"}
PLAIN_PATH = re.compile(r"[A-Za-z0-9_.\-/]+")
ISSUE_REF = re.compile(r"\bissues? #?\d+", re.IGNORECASE)
SOURCE_DIRS = ("billing", "offers", "portal", "integrations", "kundefaktura", "templates")
ENV_READ = re.compile(r"""\benv(?:\.[a-z_]+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _without_fences(text: str) -> str:
    """The text outside ``` blocks (commands and diagrams are not references)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _top_level() -> set[str]:
    return {p.name for p in ROOT.iterdir()} - NOT_IN_REPOSITORY


def _backticked_paths(text: str, top_level: set[str]) -> set[str]:
    found = set()
    for span in re.findall(r"`([^`\n]+)`", _without_fences(text)):
        for word in span.split():
            word = word.rstrip(".,;:)")
            if "/" not in word or word.startswith(("/", "./", "../")) or "://" in word:
                continue
            if not PLAIN_PATH.fullmatch(word):
                continue  # placeholders such as <id>, … or {base}
            first = word.split("/", 1)[0]
            if first in NOT_IN_REPOSITORY:
                continue  # generated at run time (var/mail/, .venv/bin/python)
            if word.endswith(CHECKED_SUFFIXES) or first in top_level:
                found.add(word)
    return found


def _relative_links(text: str) -> set[str]:
    links = set()
    for target in re.findall(r"\]\(([^)\s]+)\)", _without_fences(text)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # http:, mailto:, in-page anchors
        links.add(target.split("#", 1)[0])
    return links


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def test_every_docs_page_is_linked_from_the_readme():
    pages = {f"docs/{p.name}" for p in DOCS.glob("*.md")}
    assert pages, "docs/ has no pages"
    linked = {str((README.parent / link).resolve().relative_to(ROOT))
              for link in _relative_links(README.read_text(encoding="utf-8"))}
    missing = sorted(pages - linked)
    assert not missing, f"not linked from README.md: {missing}"


@pytest.mark.parametrize("doc", DOC_FILES, ids=_rel)
def test_relative_links_exist(doc):
    broken = sorted(link for link in _relative_links(doc.read_text(encoding="utf-8"))
                    if not (doc.parent / link).exists())
    assert not broken, f"{_rel(doc)} links to missing files: {broken}"


@pytest.mark.parametrize("doc", DOC_FILES, ids=_rel)
def test_backticked_repository_paths_exist(doc):
    missing = sorted(p for p in _backticked_paths(doc.read_text(encoding="utf-8"), _top_level())
                     if not (ROOT / p).exists())
    assert not missing, f"{_rel(doc)} names paths that do not exist: {missing}"


def test_every_environment_variable_is_in_the_configuration_table():
    read = set(ENV_READ.findall((ROOT / "kundefaktura" / "settings.py").read_text(encoding="utf-8")))
    assert "SECRET_KEY" in read  # the pattern still finds what the settings read
    table = (DOCS / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", table, flags=re.M))
    missing = sorted(read - documented)
    assert not missing, f"docs/configuration.md has no row for: {missing}"


def test_no_issue_numbers_in_the_docs():
    hits = [f"{_rel(doc)}:{n}: {line.strip()}"
            for doc in DOC_FILES
            for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
            if ISSUE_REF.search(line)]
    assert not hits, "issue numbers are history, not documentation:\n" + "\n".join(hits)


def test_no_issue_numbers_in_the_sources():
    hits = []
    for top in SOURCE_DIRS:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in (".py", ".html") or "__pycache__" in path.parts:
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ISSUE_REF.search(line):
                    hits.append(f"{_rel(path)}:{n}: {line.strip()}")
    assert not hits, "issue numbers in code comments point outside the repository:\n" + "\n".join(hits)


def test_the_path_check_sees_paths_and_skips_placeholders():
    text = ("`billing/money.py` `tests/` `var/mail/` `ERP_DROP_DIR/kundefaktura-batch-<id>/` "
            "`done/` `/arbeid/` `.venv/bin/python bench/load.py` `templates/documents/email/<name>.txt`\n"
            "```\nbilling/nowhere.py\n```\n")
    assert _backticked_paths(text, {"billing", "tests", "bench", "templates"}) == {
        "billing/money.py", "tests/", "bench/load.py"}
    assert _relative_links("[a](guide/x.md) [b](https://example.org/y.md) [c](#top) [d](z.md#part)") == {
        "guide/x.md", "z.md"}
