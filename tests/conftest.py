"""Fixtures only; the helpers the tests share are in ``helpers.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ngn_clarity.layout import Layout


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    lay = Layout(tmp_path / "data")
    lay.init()
    return lay
