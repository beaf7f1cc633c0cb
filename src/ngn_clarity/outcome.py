"""What a step did: the files it handled, and a :class:`Finding` for each one it passed over
or wants a user to look at (no I/O, no internal dependency)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

def one_line(text: str) -> str:
    """``text`` with every character that is not printable (a newline or tab in a file
    name, a terminal escape) written as its escape, so one message stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class Finding:
    """A path and the one-line reason a step says something about it.

    Parameters
    ----------
    path : str
        The file or folder.
    reason : str
        One line a user can act on.
    level : str
        ``"error"`` (skipped, refused) or ``"warning"``.
    """

    path: str
    reason: str
    level: str = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class StepReport:
    """Outcome of one step. ``ok`` is False when anything was skipped or failed."""

    step: str
    done: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    """Things worth knowing about a file that did not stop it (``-v`` lists them)."""

    @property
    def ok(self) -> bool:
        return not self.skipped and not self.errors

    def skip(self, path: object, reason: str) -> None:
        """Record that ``path`` was passed over, and why."""
        self.skipped.append(Finding(str(path), reason))

    def warn(self, path: object, reason: str) -> None:
        """Record something worth knowing about ``path`` that did not stop it."""
        self.warnings.append(Finding(str(path), reason, "warning"))
