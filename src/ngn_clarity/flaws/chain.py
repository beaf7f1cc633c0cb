"""A chain of transforms as one object, in the spirit of pedalboard's ``Pedalboard``."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence, overload

import numpy as np

from . import correction as _correction
from .transforms import Transform


class Chain(Sequence[Transform]):
    """A sequence of transforms that runs as one: ``Chain([Peak(...), Limiter(...)])(x, sr)``.

    Parameters
    ----------
    transforms : iterable of Transform
        The stages, in the order they run.

    Examples
    --------
    >>> from ngn_clarity.flaws import Chain, Gain
    >>> Chain([Gain(-6.0)])
    Chain([Gain(gain_db=-6.0)])
    """

    def __init__(self, transforms: Iterable[Transform] = ()):
        self._stages = tuple(transforms)

    @overload
    def __getitem__(self, i: int) -> Transform: ...

    @overload
    def __getitem__(self, i: slice) -> "Chain": ...

    def __getitem__(self, i):
        return Chain(self._stages[i]) if isinstance(i, slice) else self._stages[i]

    def __len__(self) -> int:
        return len(self._stages)

    def __iter__(self) -> Iterator[Transform]:
        return iter(self._stages)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chain) and self._stages == other._stages

    def __hash__(self) -> int:
        return hash(self._stages)

    def __repr__(self) -> str:
        return f"Chain([{', '.join(repr(t) for t in self._stages)}])"

    def __call__(self, x: np.ndarray, sr: int) -> np.ndarray:
        """Run every stage on ``(frames, channels)`` float32 audio; return the output."""
        return self.process(x, sr)[0]

    def process(self, x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        """Run every stage.

        Returns
        -------
        y : np.ndarray
            The output.
        shifts : np.ndarray
            The shift (samples) of each slice a timing stage moved (empty when none did).
        """
        y, shifts = x, np.zeros(0)
        for t in self._stages:
            y, moved = t.process(y, sr)
            if moved is not None:
                shifts = moved
        return y, shifts

    def eq_response_db(self, sr: int) -> np.ndarray:
        """Gain (dB) of the tone-shaping stages at the correction centres
        (:func:`.correction.eq_response_db`)."""
        return _correction.eq_response_db(self._stages, sr)

    def correction(self, flaw: str, gold: np.ndarray, flawed: np.ndarray, sr: int,
                   jitter_ms: float = 0.0) -> dict[str, float]:
        """The correction vector that undoes this chain (:func:`.correction.correction`)."""
        return _correction.correction(flaw, self._stages, gold, flawed, sr, jitter_ms)

    def to_dicts(self) -> list[dict[str, Any]]:
        """Each stage's ``to_dict()``: the ``chain`` a label record keeps."""
        return [t.to_dict() for t in self._stages]

    @classmethod
    def from_dicts(cls, dicts: Iterable[dict[str, Any]]) -> "Chain":
        """The chain a label record describes (:meth:`to_dicts`): each stage rebuilt by
        its ``transform`` name from the transform classes (parameters as recorded, rounded to
        4 decimals)."""
        return cls(Transform.from_dict(d) for d in dicts)
