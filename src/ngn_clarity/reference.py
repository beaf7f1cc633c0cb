"""What good sounds like: the reference a model compares every clip with.

A model trained on one library and used on another calls the other library's gold "flawed"
when it only knows absolute feature values: a flaw's trace is smaller than the spread between
sources. Products that work define "good" by a reference (per-instrument target curves,
normalization against real stems' statistics). A :class:`Reference` is fitted on gold clips
only, per instrument, and holds:

* a **profile**: for each fingerprint feature a robust centre (the median) and scale
  (1.4826 x the median absolute deviation, floored at :data:`SCALE_FLOOR` of the feature's
  scale over all instruments, and at :data:`ABSOLUTE_FLOOR`), and the 1/3-octave long-term
  spectrum's median with its 10-90 % band (what the report draws, like a tonal-balance
  target); sub-source profiles where a sub-source has at least :data:`MIN_SUB_CLIPS` clips;
* a **bank** of the gold fingerprints themselves, for the nearest-gold deviation.

The model sees, for each clip, beside its 64 features (:func:`design`):

* ``d``: its deviation from its **nearest gold clips**: among the bank's clips of the same
  instrument, the :data:`NEIGHBOURS` whose octave-band levels (the ``match`` features) are
  closest to the clip's once their level offset is removed (distance: the median over the
  match features of ``|(x - g) - median(x - g)|``, so a boost in one band barely changes who
  the neighbours are), and ``d = x - median of the neighbours`` for every feature;
* ``dist``: the median distance to those neighbours (how typical the clip is).

Robust z-scores against the instrument's profile (:func:`zscores`) were measured as model
inputs too and left out: beside ``d`` they lowered every figure (calibrated leave-source-out
ROC AUC 0.900 -> 0.885, real recordings 0.695 -> 0.688), and scaling ``d`` by the profile's
spread lowered it further (0.865). The profiles serve the report (each instrument's gold
band) and ``clarity fix``.

Everything here is selection (medians of odd counts, sorting) and exact float32 arithmetic,
so the ONNX graph (:mod:`ngn_clarity.model.graph`) gives the same bits. ``clarity calibrate``
refits a reference on a user's own gold without retraining: the model compares with *their*
gold from then on. Measured (``docs/model-quality.md``): on the embedded set with whole
source families held out, calibrating the bank to the held-out family's gold raised
gold-vs-flawed ROC AUC from 0.72 to 0.91; the per-instrument profile alone reached 0.77.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import taxonomy

#: Neighbours the nearest-gold deviation takes the median of (odd: a median is one of them).
NEIGHBOURS = 5
#: A profile's scale is at least this share of the feature's scale over all instruments ...
SCALE_FLOOR = 0.01
#: ... and at least this (the features' units are dB, ratios, log2 Hz).
ABSOLUTE_FLOOR = 1e-3
#: A sub-source (kick, snare, lead, ...) gets its own profile from this many gold clips up.
MIN_SUB_CLIPS = 20
#: What a clip of another instrument adds to the distance, so it is never a neighbour.
OTHER_INSTRUMENT = np.float32(1e9)
#: The fingerprint features the neighbours are matched on: the octave levels (9), or for a
#: schema without them (``seed``) MFCC 1-11 (an odd count, so a median is one of them).
MATCH_FEATURES = tuple(f"octave_{c}_db" for c in (63, 125, 250, 500, 1000, 2000, 4000, 8000,
                                                   16000))
SEED_MATCH_FEATURES = tuple(f"mfcc_{i:02d}" for i in range(1, 12))


def match_features(feature_names: list[str]) -> tuple[str, ...]:
    """The features a schema's neighbours are matched on (see :data:`MATCH_FEATURES`)."""
    if set(MATCH_FEATURES) <= set(feature_names):
        return MATCH_FEATURES
    if set(SEED_MATCH_FEATURES) <= set(feature_names):
        return SEED_MATCH_FEATURES
    raise ValueError("the fingerprint has neither octave levels nor MFCCs to match gold on")


def robust_scale(x: np.ndarray, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(median, max(1.4826 MAD, floor)) of each column of ``x``, float32."""
    centre = np.median(x, axis=0)
    mad = 1.4826 * np.median(np.abs(x - centre), axis=0)
    return centre.astype(np.float32), np.maximum(mad, floor).astype(np.float32)


def _floor(x: np.ndarray) -> np.ndarray:
    pooled = 1.4826 * np.median(np.abs(x - np.median(x, axis=0)), axis=0)
    return np.maximum(SCALE_FLOOR * pooled, ABSOLUTE_FLOOR)


@dataclass
class Profile:
    """One instrument's (or sub-source's) gold statistics."""

    count: int
    centre: np.ndarray
    scale: np.ndarray
    spectrum: dict[str, list[float]] = field(default_factory=dict)
    """1/3-octave long-term spectrum (dB re total): ``median``, ``p10``, ``p90``."""

    def to_dict(self, names: list[str]) -> dict[str, Any]:
        return {"count": self.count,
                "centre": {n: round(float(v), 6) for n, v in zip(names, self.centre)},
                "scale": {n: round(float(v), 6) for n, v in zip(names, self.scale)},
                "spectrum": self.spectrum}

    @classmethod
    def from_dict(cls, d: dict[str, Any], names: list[str]) -> "Profile":
        return cls(int(d["count"]), np.array([d["centre"][n] for n in names], np.float32),
                   np.array([d["scale"][n] for n in names], np.float32), d.get("spectrum", {}))


def spectrum_band(spectra: np.ndarray) -> dict[str, list[float]]:
    """Median and 10-90 % band of 1/3-octave spectra ``[clips, bands]`` (dB); rows holding a
    NaN (a clip without a spectrum) are left out."""
    spectra = spectra[~np.isnan(spectra).any(axis=1)] if len(spectra) else spectra
    if not len(spectra):
        return {}
    q = np.percentile(spectra, [10, 50, 90], axis=0)
    return {"p10": [round(float(v), 2) for v in q[0]],
            "median": [round(float(v), 2) for v in q[1]],
            "p90": [round(float(v), 2) for v in q[2]]}


@dataclass
class Reference:
    """Gold profiles and the gold bank (see the module doc).

    Parameters
    ----------
    feature_names : list of str
        The fingerprint's features, in order.
    profiles : dict
        Instrument -> :class:`Profile` (every instrument of the taxonomy).
    bank : np.ndarray
        ``[clips, features]`` float32 gold fingerprints.
    bank_instrument : np.ndarray
        Each bank clip's instrument (index into :data:`ngn_clarity.taxonomy.INSTRUMENTS`).
    sub_profiles : dict
        ``"<instrument>/<source>"`` -> :class:`Profile`, for sub-sources with enough clips.
    origin : dict
        Where the gold came from: ``{"by": "train" | "calibrate", ...}``.
    """

    feature_names: list[str]
    profiles: dict[str, Profile]
    bank: np.ndarray
    bank_instrument: np.ndarray
    sub_profiles: dict[str, Profile] = field(default_factory=dict)
    origin: dict[str, Any] = field(default_factory=dict)
    bank_groups: np.ndarray | None = None
    """Each bank clip's split group, when known (training: a row is never compared with
    gold of its own group); not saved."""

    @property
    def match(self) -> np.ndarray:
        """Column indices of the match features (:func:`match_features`) in the fingerprint."""
        return np.array([self.feature_names.index(n)
                         for n in match_features(self.feature_names)], dtype=np.int64)

    @property
    def has_bank(self) -> np.ndarray:
        """``[instruments]`` float32: 1 where the bank holds at least :data:`NEIGHBOURS` gold
        clips of the instrument (its clips' neighbours are its own), 0 where it does not
        (their neighbours come from any instrument)."""
        return np.array([float(np.sum(self.bank_instrument == k) >= NEIGHBOURS)
                         for k in range(len(taxonomy.INSTRUMENTS))], dtype=np.float32)

    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """``[instruments, features]`` centre and scale tables (taxonomy order)."""
        return (np.stack([self.profiles[i].centre for i in taxonomy.INSTRUMENTS]),
                np.stack([self.profiles[i].scale for i in taxonomy.INSTRUMENTS]))

    def counts(self) -> dict[str, int]:
        return {i: self.profiles[i].count for i in taxonomy.INSTRUMENTS}


def fit(x: np.ndarray, instrument: np.ndarray, feature_names: list[str], *,
        spectra: np.ndarray | None = None, sources: np.ndarray | None = None,
        groups: np.ndarray | None = None, origin: dict[str, Any] | None = None) -> Reference:
    """A reference from gold clips.

    Parameters
    ----------
    x : np.ndarray
        ``[clips, features]`` gold fingerprints.
    instrument : np.ndarray
        Each clip's instrument index (taxonomy order). An instrument with fewer than
        :data:`NEIGHBOURS` clips gets the profile of all the gold together (and
        ``profiles[i].count`` says how many of its own it had).
    feature_names : list of str
        The fingerprint's features (must include :data:`MATCH_FEATURES`).
    spectra : np.ndarray, optional
        ``[clips, bands]`` 1/3-octave spectra (dB re total) for the profiles' bands.
    sources : np.ndarray, optional
        Each clip's sub-source (for sub-source profiles).
    groups : np.ndarray, optional
        Each clip's split group (kept as :attr:`Reference.bank_groups`).
    origin : dict, optional
        Where the gold came from (kept in ``reference.json``).

    Raises
    ------
    ValueError
        When there are fewer than :data:`NEIGHBOURS` gold clips in all.
    """
    x = np.asarray(x, dtype=np.float32)
    if len(x) < NEIGHBOURS:
        raise ValueError(f"{len(x)} gold clip(s): a reference needs at least {NEIGHBOURS}")
    match_features(list(feature_names))  # raises for a fingerprint without match features
    floor = _floor(x)
    profiles, subs = {}, {}
    for k, inst in enumerate(taxonomy.INSTRUMENTS):
        m = instrument == k
        own = m if m.sum() >= NEIGHBOURS else np.ones(len(x), dtype=bool)
        band = spectrum_band(spectra[own]) if spectra is not None else {}
        profiles[inst] = Profile(int(m.sum()), *robust_scale(x[own], floor), band)
        for src in (sorted(set(sources[m])) if sources is not None else ()):
            ms = m & (sources == src)
            if ms.sum() >= MIN_SUB_CLIPS:
                subs[f"{inst}/{src}"] = Profile(
                    int(ms.sum()), *robust_scale(x[ms], floor),
                    spectrum_band(spectra[ms]) if spectra is not None else {})
    return Reference(list(feature_names), profiles, x.copy(),
                     np.asarray(instrument, dtype=np.int64), subs, dict(origin or {}),
                     None if groups is None else np.asarray(groups))


def zscores(x: np.ndarray, onehot: np.ndarray, ref: Reference) -> np.ndarray:
    """``(x - centre) / scale`` with each row's instrument's profile, float32."""
    centre, scale = ref.tables()
    oh = onehot.astype(np.float32)
    return ((x.astype(np.float32) - oh @ centre) / (oh @ scale)).astype(np.float32)


def _median_last(v: np.ndarray) -> np.ndarray:
    """Median over the last axis of an odd count: the middle value (a selection)."""
    k = v.shape[-1]
    return np.partition(v, k // 2, axis=-1)[..., k // 2]


def nearest_gold(x: np.ndarray, onehot: np.ndarray, ref: Reference,
                 exclude: np.ndarray | None = None,
                 chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The nearest-gold deviation ``d`` ``[rows, features]`` and distance ``[rows, 1]``.

    Parameters
    ----------
    x, onehot : np.ndarray
        ``[rows, features]`` fingerprints and ``[rows, instruments]`` one-hot.
    ref : Reference
        The bank.
    exclude : np.ndarray, optional
        Each row's group: a bank clip of the row's own group (:attr:`Reference.bank_groups`)
        is never its neighbour (training rows: a flawed clip is not compared with the gold
        it was made from).
    """
    x = np.asarray(x, dtype=np.float32)
    bank = ref.bank
    bm = bank[:, ref.match]
    inst = np.argmax(onehot, axis=1)
    d = np.empty_like(x)
    dist = np.empty((len(x), 1), dtype=np.float32)
    for s in range(0, len(x), chunk):
        rows = slice(s, s + chunk)
        diff = x[rows][:, None, ref.match] - bm[None, :, :]
        off = _median_last(diff)[:, :, None]
        score = _median_last(np.abs(diff - off))
        own = ref.has_bank[inst[rows]][:, None] > 0  # rows whose instrument has a bank
        score = score + np.where(own & (inst[rows, None] != ref.bank_instrument[None, :]),
                                 OTHER_INSTRUMENT, np.float32(0.0))
        if exclude is not None and ref.bank_groups is not None:
            same = exclude[rows, None] == ref.bank_groups[None, :]
            score = np.where(same, np.float32(np.inf), score)
        nn = np.argsort(score, axis=1, kind="stable")[:, :NEIGHBOURS]
        ref_rows = np.take(bank, nn, axis=0)  # [r, k, features]
        d[rows] = x[rows] - _median_last(np.swapaxes(ref_rows, 1, 2))
        dist[rows, 0] = _median_last(np.take_along_axis(score, nn, axis=1))
    return d, dist


def design(x: np.ndarray, onehot: np.ndarray, ref: Reference,
           exclude: np.ndarray | None = None) -> np.ndarray:
    """What the models see: ``[x, d, dist, onehot]`` float32 (see the module doc);
    ``exclude``: each row's group, kept out of its neighbours (:func:`nearest_gold`)."""
    d, dist = nearest_gold(x, onehot, ref, exclude)
    return np.ascontiguousarray(np.hstack([x.astype(np.float32), d, dist,
                                           onehot.astype(np.float32)]), dtype=np.float32)


def design_names(feature_names: list[str]) -> list[str]:
    """The columns of :func:`design`."""
    return [*feature_names, *(f"d_{n}" for n in feature_names), "nearest_gold_distance",
            *(f"instrument_{i}" for i in taxonomy.INSTRUMENTS)]
