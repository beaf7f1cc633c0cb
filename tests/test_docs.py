"""The README and the docs: short, and every reference in them resolves (relative links and
their anchors, and the repository files they name)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ngn_clarity import architecture
from ngn_clarity.features import schema

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
#: A source file named in backticks: ``benchmarks/x.py``, ``ngn_clarity/flaws/engine.py``,
#: ``features/families.py`` (below the package); data-folder files (``features/*.json``) are
#: outputs, not references.
PATH = re.compile(r"`((?:[\w.-]+/)+[\w.-]+\.(?:py|md|toml))`")
ROOTS = (REPO, REPO / "src", REPO / "src" / "ngn_clarity")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    in_code, out = False, set()
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            out.add(_slug(line.lstrip("#")))
    return out


def test_the_readme_is_the_front_door():
    assert len((REPO / "README.md").read_text().splitlines()) <= 200


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_file_named_exists(page):
    missing = [p for p in PATH.findall(page.read_text())
               if not any((root / p).exists() for root in (*ROOTS, page.parent))]
    assert missing == []


def test_the_generated_pages_are_current():
    assert (REPO / "docs" / "features.md").read_text() == schema.markdown()
    layers = f"{architecture.BEGIN}\n{architecture.markdown()}\n{architecture.END}"
    assert layers in (REPO / "docs" / "architecture.md").read_text()


def test_the_slug_is_githubs():
    assert _slug(" On real recordings (`benchmarks/real_audio.py`)") == \
        "on-real-recordings-benchmarksreal_audiopy"
    assert _slug("Decisions: taxonomy") == "decisions-taxonomy"
