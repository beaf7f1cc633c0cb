"""Pipeline-wide defaults, and the constraints every settings class declares.

The numbers below are the one place a value that more than one step uses is written; every
step takes them as keyword defaults and the CLI exposes the ones a user changes.

Settings classes (``NormalizeSettings``, ``TrainSettings``, ...) are frozen dataclasses that
inherit :class:`Validated` and declare ``constraints = {field: constraint}`` for every field
with :class:`Interval`, :class:`Options`, :class:`Flag`, :class:`Text`, :class:`Span` and
:class:`Instance` (as scikit-learn's ``_parameter_constraints``); the values are checked
when the object is built, before any work starts, and a bad one raises
:class:`~ngn_clarity.errors.SettingsError` naming the allowed range (the CLI exits 2).
Each constraint can also make a value it refuses (``invalid()``, as scikit-learn's
``generate_invalid_param_val``), so one test drives every declared constraint; the CLI
reads its defaults and choices from the same classes.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar

from .errors import SettingsError

#: Environment variable that overrides the default data directory.
DATA_DIR_ENV = "CLARITY_DATA_DIR"
#: Default data directory, relative to the working directory (the seed's ``Python_Training/data``).
DEFAULT_DATA_DIR = "data"

# --- loudness -----------------------------------------------------------------------------
#: Normalization target, LUFS (ITU-R BS.1770-4 integrated loudness).
TARGET_LUFS = -18.0
#: Ceiling for fixed-point output (PCM_16/PCM_24): gain is lowered to keep the true peak at or
#: under this.
TRUE_PEAK_CEILING_DBTP = -1.0
#: Sample formats the normalizer writes (WAV subtypes); FLOAT never clips.
OUTPUT_SUBTYPES: tuple[str, ...] = ("FLOAT", "PCM_24", "PCM_16")
#: ``--verify`` tolerance around the target, LU.
VERIFY_TOLERANCE_LU = 0.1

# --- dataset targets (seed: "100 samples per instrument category", "20+ variations, best 5") ---
GOLD_PER_INSTRUMENT = 100
FLAWED_PER_INSTRUMENT = 100
SUNO_VARIATIONS_PER_FLAW = 20
SUNO_KEEP_PER_FLAW = 5

# --- what counts as usable audio ----------------------------------------------------------
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
MAX_CHANNELS = 8
#: Clips shorter than this are rejected by validation (an error); loudness needs >= 0.4 s to gate.
MIN_DURATION_S = 0.1
#: Clips shorter than this get a validation warning ("short clip").
SHORT_DURATION_S = 1.0
#: Clips longer than this get a validation warning (stems for training are seconds, not hours).
MAX_DURATION_S = 600.0
#: Peak |x| at or below this is digital silence (about -120 dBFS).
SILENCE_PEAK = 1e-6
#: A sample with |x| at or above this counts as at full scale.
CLIP_LEVEL = 0.999
#: This many consecutive full-scale samples in a channel count as a clipped run.
CLIP_RUN = 3
#: Class balance: warn when the largest flaw class is more than this many times the smallest.
MAX_CLASS_IMBALANCE = 2.0

# --- fingerprint ---------------------------------------------------------------------------
#: Floats per clip in the "DNA" fingerprint (the seed's 64).
FINGERPRINT_LENGTH = 64

#: A DC offset (|mean| of a channel) above this, dBFS, gets a validation warning.
DC_OFFSET_WARN_DBFS = -40.0
#: A clip whose energy at or above 20 Hz is below this fraction of its total energy is
#: refused: it is essentially DC or infrasound (nothing a model should learn from).
MIN_AUDIBLE_ENERGY_FRACTION = 0.01

# --- constraints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A number of ``kind`` (int or float) between ``low`` and ``high`` (None = unbounded)."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"
    """Which ends belong to the interval: both, left, right or neither."""

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not float(value).is_integer():
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        lo_ok = self.low is None or (value >= self.low if self.closed in ("both", "left")
                                     else value > self.low)
        hi_ok = self.high is None or (value <= self.high if self.closed in ("both", "right")
                                      else value < self.high)
        return lo_ok and hi_ok

    def _show(self, v: float | None) -> str:
        """An end as a user types it: integers in full (2**32 - 1, not 4.29497e+09)."""
        assert v is not None
        return str(int(v)) if self.kind is int else f"{v:g}"

    def describe(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        if self.low is None and self.high is None:
            return what
        if self.high is None:
            return f"{what} {'>=' if self.closed in ('both', 'left') else '>'} " \
                   f"{self._show(self.low)}"
        if self.low is None:
            return f"{what} {'<=' if self.closed in ('both', 'right') else '<'} " \
                   f"{self._show(self.high)}"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"{what} in {left}{self._show(self.low)}, {self._show(self.high)}{right}"

    def invalid(self) -> Any:
        """A value this interval refuses (below its low end, else above its high end)."""
        if self.low is not None:
            return self.kind(self.low - 1)
        assert self.high is not None, "an unbounded interval refuses only non-numbers"
        return self.kind(self.high + 1)


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values."""

    values: tuple

    def accepts(self, value: Any) -> bool:
        return value in self.values

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def invalid(self) -> Any:
        return "<not one of the options>"


@dataclass(frozen=True)
class Flag:
    """True or False (not 0, 1 or a string)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "True or False"

    def invalid(self) -> Any:
        return "yes"


@dataclass(frozen=True)
class Text:
    """Any string (an address, a path)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)

    def describe(self) -> str:
        return "a string"

    def invalid(self) -> Any:
        return 8786


@dataclass(frozen=True)
class Span:
    """``(lo, hi)``: two numbers with ``low <= lo <= hi <= high``, written ``LO,HI``."""

    low: float
    high: float

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            return False
        lo, hi = value
        return all(isinstance(v, (int, float)) and not isinstance(v, bool)
                   and math.isfinite(v) for v in value) and self.low <= lo <= hi <= self.high

    def describe(self) -> str:
        return f"LO,HI with {self.low:g} <= LO <= HI <= {self.high:g}"

    def show(self, value: Any) -> str:
        """How a refused value is written back to the user (``LO,HI``)."""
        try:
            lo, hi = value
            return f"{lo:g},{hi:g}"
        except (TypeError, ValueError):
            return repr(value)

    def invalid(self) -> Any:
        return (self.high, self.low)


@dataclass(frozen=True)
class Subset:
    """A non-empty tuple of distinct values, each one of ``values``."""

    values: tuple

    def accepts(self, value: Any) -> bool:
        return (isinstance(value, tuple) and len(value) > 0 and len(set(value)) == len(value)
                and all(v in self.values for v in value))

    def describe(self) -> str:
        return "one or more of " + ", ".join(repr(v) for v in self.values)

    def invalid(self) -> Any:
        return ("<not one of the options>",)


@dataclass(frozen=True)
class Instance:
    """An object of ``kind`` (settings that hold other settings)."""

    kind: type

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.kind)

    def describe(self) -> str:
        return f"a {self.kind.__name__}"

    def invalid(self) -> Any:
        return object()


def check(name: str, value: Any, constraint: Any) -> None:
    """Raise :class:`SettingsError` unless ``value`` meets ``constraint``.

    ``constraint`` is an :class:`Interval`, :class:`Options`, ``None`` (the value may be
    None) or a tuple of those (any one may hold).
    """
    options = alternatives(constraint)
    for c in options:
        if (c is None and value is None) or (c is not None and c.accepts(value)):
            return
    allowed = " or ".join("None" if c is None else c.describe() for c in options)
    shown = next((c.show(value) for c in options if hasattr(c, "show")), repr(value))
    raise SettingsError(f"{name.replace('_', '-')} must be {allowed}, not {shown}")


def alternatives(constraint: Any) -> tuple:
    """The constraints of which any one may hold (a tuple stays, one becomes a 1-tuple)."""
    return constraint if isinstance(constraint, tuple) else (constraint,)


class Validated:
    """Mixin for frozen dataclasses: ``constraints`` are checked when an instance is made.

    Every field declares one (a test checks it), so a settings class is also the one place
    the CLI reads a default (:meth:`default`) and the values it accepts.
    """

    constraints: ClassVar[dict[str, Any]] = {}

    @classmethod
    def default(cls, name: str) -> Any:
        """The default value of field ``name``."""
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name == name:
                if f.default is not MISSING:
                    return f.default
                if f.default_factory is not MISSING:
                    return f.default_factory()
                raise KeyError(f"{cls.__name__}.{name} has no default")
        raise KeyError(f"{cls.__name__} has no field {name!r}")

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            if f.name in self.constraints:
                check(f.name, getattr(self, f.name), self.constraints[f.name])


#: How long a command waits for a Dask scheduler to answer before it gives up (s).
SCHEDULER_TIMEOUT_S = 30.0
#: The address schemes a Dask scheduler listens on (``http://`` is its dashboard, not it).
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


@dataclass(frozen=True)
class DaskAddress:
    """A Dask scheduler's address: ``[scheme://]HOST:PORT`` with a scheme Dask listens on."""

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        scheme, sep, rest = value.partition("://")
        if not sep:
            scheme, rest = "tcp", value
        if scheme == "inproc":
            return bool(rest)
        host, _, port = rest.rpartition(":")
        return scheme in SCHEDULER_SCHEMES and bool(host) and port.isdigit() \
            and 0 < int(port) < 65536

    def describe(self) -> str:
        return ("a Dask scheduler address, tcp://HOST:PORT (port 8786 by default; an "
                "http:// address is its dashboard)")

    def invalid(self) -> Any:
        return "http://localhost:8787"


@dataclass(frozen=True)
class Scheduler(Validated):
    """Where per-clip tasks run when not in local processes: a Dask scheduler.

    Parameters
    ----------
    address : str
        ``tcp://HOST:PORT`` (Dask's own forms: tls://, ws://, ...).
    timeout_s : float
        How long to wait for it to answer (``--scheduler-timeout``); then the command
        says which address did not answer and why, and exits 1.
    """

    address: str = "tcp://127.0.0.1:8786"
    timeout_s: float = SCHEDULER_TIMEOUT_S

    constraints = {"address": DaskAddress(),
                   "timeout_s": Interval(float, 0.0, 3600.0, closed="right")}


#: Shared constraints, reused by every settings class that has such a field.
JOBS_RANGE = (None, Interval(int, 1, 1024))
TARGET_LUFS_RANGE = Interval(float, -70.0, 0.0, closed="neither")
SEED_RANGE = Interval(int, 0, 2**32 - 1)
#: A Dask scheduler (its address, or a :class:`Scheduler` with a timeout), or None.
SCHEDULER = (None, DaskAddress(), Instance(Scheduler))
