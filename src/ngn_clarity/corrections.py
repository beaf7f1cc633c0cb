"""The correction vector: the 12 values that undo a flaw (no I/O, no internal dependency).

Every label record carries it (:class:`~ngn_clarity.records.ClipRecord`), the flaw engine
fills it exactly (:mod:`ngn_clarity.flaws.correction`), ``labels.csv`` has one column per
value and the regressor predicts it in this order: EQ gain in dB at :data:`EQ_CENTRES_HZ`,
then dynamics, drive, timing and reverb. Gold clips have all zeros; clips of unknown origin
leave it empty.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

#: Centres (Hz) of the EQ corrections, and of the extended schema's contrast features.
EQ_CENTRES_HZ: tuple[int, ...] = (60, 150, 300, 600, 1200, 3000, 7000, 12000)
EQ_FIELDS: tuple[str, ...] = tuple(f"eq_{f}_db" for f in EQ_CENTRES_HZ)
CORRECTION_FIELDS: tuple[str, ...] = (
    *EQ_FIELDS, "restore_dynamics_db", "remove_drive_db", "remove_jitter_ms",
    "remove_reverb_wet")

#: The corrections ``predict`` shows for each flaw (the others are noise for that flaw).
CORRECTIONS_FOR_FLAW: Mapping[str, tuple[str, ...]] = MappingProxyType({
    **{f: EQ_FIELDS for f in ("muddy", "harsh", "nasal", "boxy", "over_sibilant", "boomy",
                              "thin", "dark")},
    "undefined": (*EQ_FIELDS, "restore_dynamics_db"),
    "over_compressed": ("restore_dynamics_db",),
    "distorted": ("remove_drive_db",),
    "sloppy_timing": ("remove_jitter_ms",),
    "ringy": (*EQ_FIELDS, "remove_reverb_wet"),
})


def zero_correction() -> dict[str, float]:
    """The correction of a gold clip: every field 0.0, in field order.

    Returns
    -------
    dict
        ``{field: 0.0}`` for each of :data:`CORRECTION_FIELDS`.
    """
    return {k: 0.0 for k in CORRECTION_FIELDS}
