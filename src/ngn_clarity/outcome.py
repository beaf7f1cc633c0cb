"""What a step did: the files it handled and the ones it skipped, each with a reason."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass(frozen=True)
class Skipped:
    """A path that a step passed over, with the one-line reason."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class StepReport:
    """Outcome of one step. ``ok`` is False when anything was skipped or failed."""

    step: str
    done: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[Skipped] = field(default_factory=list)
    """Things worth knowing about a file that did not stop it (``-v`` lists them)."""

    @property
    def ok(self) -> bool:
        return not self.skipped and not self.errors

    def skip(self, path: object, reason: str) -> None:
        self.skipped.append(Skipped(str(path), reason))


@contextlib.contextmanager
def progress_bar(total: int, desc: str, show: bool = True, unit: str = "clip") -> Iterator[Any]:
    """A tqdm bar on a terminal (none in logs and pipes, none when ``show`` is False)."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, disable=None if show else True,
               leave=False)
    try:
        yield bar
    finally:
        bar.close()
