"""``clarity augment`` (``dataset_generator.py --augment``): flawed clips from any gold library.

For every usable gold clip in ``raw/gold/<instrument>/`` the flaw engine
(:func:`ngn_clarity.flaws.make_flawed`, the one ``clarity synth`` uses) makes ``per_gold``
flawed clips, going round that instrument's five flaws (each gold clip starts at a different
one, so classes stay balanced), severity uniform in ``severity``, into
``raw/flawed/<instrument>/<source>_flawed_<flaw>_<NNN>.wav``. Each gets a label record:
origin ``augment``, the gold clip's split group and file, the flaw, its variant, severity,
the exact chain and parameters, and the 12-value correction vector, so the correction
regressor has targets for every augmented clip.

* **Deterministic**: child ``k`` of a gold clip is drawn from ``(seed, the gold clip's
  content hash, k)``; the same library and seed give the same files, bit for bit.
* **Incremental**: a re-run writes nothing new; a new gold clip gets its ``per_gold``; a
  larger ``per_gold`` adds the missing children. A child whose record survives but whose
  file is gone (a killed run) is made again under its recorded name.
* **Settings are part of what a child is** (its record keeps the seed and severity range):
  a gold clip whose children were made with another seed or severity range gets none with
  the new ones, and the step says so in one line (exit 1); ``replace`` (``--replace``)
  removes those children first, and the children of an earlier version of a gold clip
  (which are otherwise kept beside the new ones, with a note).
* **Gold variants** (``gold_variants``, ``--gold-variants N``): before the flawed clips, each
  gold clip a user brought (not a variant itself) gets ``N`` copies processed within the taste
  band (:mod:`ngn_clarity.flaws.taste`: tone, high-pass, mic distance, gentle compression, a
  short room, saturation below audibility), written as gold ``<source>_<NNN>.wav`` with origin
  ``taste``, the gold clip's split group and preset, and the chain under ``params``; variant
  ``k`` draws from ``(seed, the gold clip's content hash, k)``. They are gold like any other,
  so they get their own flawed children: a library of 20 clips with ``--gold-variants 2``
  gives 60 gold clips and ``60 x per_gold`` flawed ones.
* **Safe**: names are planned before any work; a clip and its record are committed record
  first, file last, without replacing any existing file (:func:`ngn_clarity.records.commit_clip`).
  A gold clip that cannot be used is reported with its one-line reason (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import settings, taxonomy
from ..catalog import Entry, scan
from ..errors import SettingsError
from ..executor import progress_bar, run_tasks
from ..flaws import make_flawed
from ..fsutil import os_reason, sha256_file
from ..layout import Layout
from ..outcome import StepReport
from ..records import ClipRecord, iter_records
from ..settings import Flag, Interval, Scheduler, Span, Validated
from .base import writing
from .naming import GoldFile, Maker, Names, drawn_seed, make_from_gold
from .variants import make_variants, plan_variants


@dataclass(frozen=True)
class AugmentSettings(Validated):
    """What ``clarity augment`` makes.

    Parameters
    ----------
    per_gold : int
        Flawed clips per gold clip (5: one of each of the instrument's flaws).
    severity : (float, float)
        Severity is drawn uniformly from this range (0 = mild but audible, 1 = strong).
    seed : int
        Random seed; child ``k`` of a gold clip draws from (seed, its content hash, k).
    gold_variants : int
        Taste-band copies of each gold clip, made first and recorded as gold with origin
        ``taste`` (0: none).
    replace : bool
        Remove the flawed clips augment made from a gold clip with other settings (seed,
        severity range), or from an earlier version of the gold clip, before making these
        settings' children. Without it such a gold clip gets no new children, and the
        step says so in one line.
    """

    per_gold: int = 5
    severity: tuple[float, float] = (0.0, 1.0)
    seed: int = 0
    replace: bool = False
    gold_variants: int = 0

    constraints = {"per_gold": Interval(int, 1, 100), "severity": Span(0.0, 1.0),
                   "seed": settings.SEED_RANGE, "replace": Flag(),
                   "gold_variants": Interval(int, 0, 20)}

    @property
    def made_with(self) -> dict[str, Any]:
        """What a child's record keeps of these settings (``extra["settings"]``): the
        settings that are part of what a child is."""
        return {"seed": self.seed, "severity": [self.severity[0], self.severity[1]]}

    def draw(self, seed: tuple[int, ...]) -> float:
        """The severity child ``seed`` gets under these settings."""
        lo, hi = self.severity
        return round(lo + (hi - lo) * float(np.random.default_rng([*seed, 1]).random()), 4)


@dataclass(frozen=True)
class Child:
    k: int
    flaw: str
    name: str
    seed: tuple[int, ...]
    severity: float


@dataclass(frozen=True)
class GoldJob(GoldFile):
    """A gold clip and the flawed children to make of it."""

    children: tuple[Child, ...] = ()
    made_with: dict[str, Any] = field(default_factory=dict)
    """The settings the children are made with (see :attr:`AugmentSettings.made_with`)."""


def _make_children(job: GoldJob) -> list[dict[str, Any]]:
    """Worker: read the gold clip once, make and commit each child."""
    def child(c: Child) -> Maker:
        def make(samples: np.ndarray, sr: int):
            made = make_flawed(samples, sr, job.instrument, c.flaw, c.severity,
                               np.random.default_rng(list(c.seed)))
            return made.audio, {
                "flawed_type": c.flaw, "origin": "augment", "severity": made.severity,
                "correction": made.correction, "params": made.params(),
                "extra": {"gold_file": job.gold_rel, "gold_sha256": job.gold_sha256,
                          "k": c.k, "seed": list(c.seed), "settings": job.made_with}}, {
                "flaw": c.flaw, "variant": made.variant, "severity": made.severity}
        return make

    return make_from_gold(job, "flawed", ((c.name, child(c)) for c in job.children))


def _gold_entries(layout: Layout, rep: StepReport | None) -> list[Entry]:
    """The usable gold clips of ``raw/`` (each refused one reported once, when ``rep``)."""
    golds = []
    for e in scan(layout).entries:
        if e.clip.subset != "gold":
            continue
        if e.refusal is not None:
            if rep is not None:
                rep.skip(e.clip.path, f"not augmented: {e.refusal}")
        else:
            golds.append(e)
    return golds


@dataclass
class _Existing:
    """The flawed clips augment made before, sorted against this run's settings."""

    mine: dict[tuple[str, int], ClipRecord] = field(default_factory=dict)
    """(gold hash, k) -> a child made with these settings."""
    other: dict[str, list[ClipRecord]] = field(default_factory=dict)
    """Gold hash -> its children (with a file) made with other settings."""
    stale: list[ClipRecord] = field(default_factory=list)
    """Children of an earlier version of a gold clip that is still there."""
    owned: set[tuple[str, str]] = field(default_factory=set)


def _made_with(rec: ClipRecord, cfg: AugmentSettings) -> bool:
    """True if ``rec`` is the child these settings make at its place (gold, k). A record
    from before the settings were kept is judged by what they draw: its seed and severity."""
    kept = rec.extra.get("settings")
    if kept is not None:
        return bool(kept == cfg.made_with)
    seed = drawn_seed(cfg.seed, rec.extra["gold_sha256"], int(rec.extra["k"]))
    return list(rec.extra.get("seed", ())) == list(seed) and rec.severity == cfg.draw(seed)


def _existing(layout: Layout, cfg: AugmentSettings, golds: list[Entry]) -> _Existing:
    now = {(e.clip.instrument, e.clip.rel): e.sha256 for e in golds}
    out = _Existing()
    for rec in iter_records(layout, "flawed"):
        if rec.origin != "augment" or "gold_sha256" not in rec.extra or "k" not in rec.extra:
            continue
        out.owned.add((rec.instrument, rec.file))
        gold_sha = rec.extra["gold_sha256"]
        if _made_with(rec, cfg):
            out.mine[(gold_sha, int(rec.extra["k"]))] = rec
        elif (layout.raw_dir("flawed", rec.instrument) / rec.file).exists():
            out.other.setdefault(gold_sha, []).append(rec)
        if now.get((rec.instrument, str(rec.extra.get("gold_file"))), gold_sha) != gold_sha \
                and (layout.raw_dir("flawed", rec.instrument) / rec.file).exists():
            out.stale.append(rec)
    return out


def _children(layout: Layout, cfg: AugmentSettings, e: Entry, old: _Existing,
              names: Names) -> tuple[list[Child], int]:
    """The children gold clip ``e`` still needs, and how many it has already."""
    flaws = taxonomy.flaws_for(e.clip.instrument)
    offset = int(e.sha256[:8], 16) % len(flaws)
    children, up_to_date = [], 0
    for k in range(cfg.per_gold):
        made = old.mine.get((e.sha256, k))
        if made is not None:
            if (layout.raw_dir("flawed", made.instrument) / made.file).exists():
                up_to_date += 1
            else:  # a killed run wrote the record, not the file: same name, same child
                children.append(Child(k, made.flawed_type, made.file,
                                      tuple(made.extra["seed"]), float(made.severity or 0.0)))
            continue
        seed = drawn_seed(cfg.seed, e.sha256, k)
        flaw = flaws[(offset + k) % len(flaws)]
        children.append(Child(k, flaw, names.next(e.clip.instrument, e.source, flaw),
                              seed, cfg.draw(seed)))
    return children, up_to_date


def _plan(layout: Layout, cfg: AugmentSettings, golds: list[Entry],
          rep: StepReport) -> list[GoldJob]:
    old = _existing(layout, cfg, golds)
    names = Names(layout, frozenset(old.owned))
    jobs, up_to_date, blocked = [], 0, []
    if cfg.replace:
        _remove(layout, [r for e in golds for r in old.other.get(e.sha256, [])] + old.stale,
                rep)
    for e in golds:
        if old.other.get(e.sha256) and not cfg.replace:
            blocked += old.other[e.sha256]
            continue
        children, fine = _children(layout, cfg, e, old, names)
        up_to_date += fine
        if children:
            jobs.append(GoldJob(*GoldFile.of(layout, e), tuple(children), cfg.made_with))
    if up_to_date:
        rep.notes.append(f"{up_to_date} augmented clip(s) up to date (already made)")
    if blocked:
        rep.errors.append(_blocked(blocked, cfg))
    if old.stale and not cfg.replace:
        rep.notes.append(f"{len(old.stale)} flawed clip(s) were made from an earlier version "
                         f"of their gold clip (e.g. raw/gold/{old.stale[0].instrument}/"
                         f"{old.stale[0].extra['gold_file']}) and are kept beside the new "
                         f"ones: --replace removes them")
    return jobs


def _described(recs: list[ClipRecord]) -> str:
    """The settings ``recs`` were made with, as a user would type them."""
    kinds = set()
    for r in recs:
        kept = r.extra.get("settings")
        if kept:
            kinds.add(f"seed {kept['seed']}, severity {kept['severity'][0]:g},"
                      f"{kept['severity'][1]:g}")
        else:
            kinds.add(f"seed {r.extra['seed'][0]}")
    return "; ".join(sorted(kinds))


def _blocked(recs: list[ClipRecord], cfg: AugmentSettings) -> str:
    golds = len({r.extra["gold_sha256"] for r in recs})
    lo, hi = cfg.severity
    return (f"{len(recs)} flawed clip(s) of {golds} gold clip(s) were made with other "
            f"settings ({_described(recs)}), so none were made for those gold clips with "
            f"seed {cfg.seed}, severity {lo:g},{hi:g}: add --replace to remove them and make "
            f"these")


def _remove(layout: Layout, recs: list[ClipRecord], rep: StepReport) -> None:
    """``--replace``: delete each child (file, then record) that is still the file augment
    made (its hash matches its record); a child changed since is left alone and named."""
    removed = 0
    for rec in {(r.instrument, r.file): r for r in recs}.values():
        path = layout.raw_dir("flawed", rec.instrument) / rec.file
        try:
            if sha256_file(path) != rec.sha256:
                rep.skip(path, "changed since augment made it; not replaced (remove it by "
                               "hand to replace it)")
                continue
            path.unlink()
            layout.record_path("flawed", rec.instrument, rec.file).unlink(missing_ok=True)
        except OSError as e:
            rep.skip(path, f"cannot remove it: {os_reason(e)}")
            continue
        removed += 1
    if removed:
        rep.notes.append(f"--replace: {removed} flawed clip(s) made with other settings or "
                         f"from an earlier gold clip removed")


def augment(layout: Layout, cfg: AugmentSettings | None = None, *, jobs: int | None = None,
            scheduler: str | Scheduler | None = None,
            progress: bool = True) -> StepReport:
    """Make flawed clips from every gold clip of ``raw/`` (see the module doc).

    Parameters
    ----------
    layout : Layout
        The data folder (it must exist).
    cfg : AugmentSettings, optional
        How many, how strong, which seed (default 5 per gold clip, severity 0-1, seed 0).
    jobs : int, optional
        Worker processes (None: every core).
    scheduler : str or Scheduler, optional
        A Dask scheduler's address.
    progress : bool
        Show a progress bar on a terminal.

    Returns
    -------
    StepReport
        One ``done`` row per clip made (file, flaw, variant, severity).
    """
    cfg = cfg or AugmentSettings()
    layout.require()
    rep = StepReport("augment")
    with writing(layout, rep):
        golds = _gold_entries(layout, rep)
        variants = plan_variants(layout, cfg.gold_variants, cfg.seed, golds, rep)
        if variants:
            made = 0
            with progress_bar(sum(len(j.variants) for j in variants), "gold variants",
                              progress) as bar:
                for _, rows in run_tasks(make_variants, variants, jobs=jobs,
                                         scheduler=scheduler):
                    for row in rows:
                        bar.update(1)
                        if row["status"] == "made":
                            made += 1
                        else:
                            rep.skip(row["file"], row["reason"] if row["status"] == "skipped"
                                     else f"no gold variant: {row['reason']}")
            rep.notes.append(f"{made} taste-band gold variant(s) made (origin taste)")
            golds = _gold_entries(layout, None)
        work = _plan(layout, cfg, golds, rep)
        total = sum(len(j.children) for j in work)
        with progress_bar(total, "augment", progress) as bar:
            for _, rows in run_tasks(_make_children, work, jobs=jobs, scheduler=scheduler):
                for row in rows:
                    bar.update(1)
                    if row["status"] == "made":
                        rep.done.append(row)
                    else:
                        rep.skip(row["file"], row["reason"] if row["status"] == "skipped"
                                 else f"not augmented: {row['reason']}")
    rep.notes.append(f"{len(rep.done)} flawed clip(s) made from {len(golds)} gold clip(s) "
                     f"(seed {cfg.seed}, {cfg.per_gold} per gold clip, severity "
                     f"{cfg.severity[0]:g}-{cfg.severity[1]:g})")
    return rep


def parse_severity(text: str) -> tuple[float, float]:
    """``"LO,HI"`` -> (lo, hi) (raises SettingsError)."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise SettingsError(f"severity must be LO,HI (e.g. 0,1), not {text!r}") from None
    AugmentSettings(severity=(lo, hi))
    return lo, hi

