"""``clarity synth``: the embedded default dataset, rendered into ``raw/``.

For each instrument, ``per_instrument`` gold clips (2-8 s, mono or stereo as the part
suggests, 44.1 or 48 kHz, PCM_24 WAV) from General MIDI SoundFont presets and procedural
instruments (see :mod:`ngn_clarity.synth.voices`), and as many flawed clips, each a gold
clip run through the flaw engine (:mod:`ngn_clarity.flaws`, the one ``clarity augment``
uses), five flaw classes in equal numbers. Every clip gets a label record (``records/``)
with its preset, seed, group id and, for flawed clips, the severity, exact parameters and
correction vector.

Same seed, same files, bit for bit. Each clip is committed as every writer of ``raw/``
commits one: its record first, its file last (:func:`ngn_clarity.records.commit_clip`), so a
run killed in between leaves a record without a file (made again by the next run), never a
clip without its labels. Existing files are never overwritten: a clip whose file and record
match this run's spec is skipped as up to date; a file without a record that holds exactly
the bytes this run renders for that name (left by an older release's interrupted run, which
wrote the file first) gets its record; any other file in the way is reported and left
alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import audio, settings, taxonomy
from ..corrections import zero_correction
from ..errors import RecordError
from ..executor import progress_bar, run_tasks
from ..fsutil import sha256_file
from ..layout import Layout
from ..outcome import StepReport
from ..records import ClipRecord, commit_clip, read_record, write_record
from ..settings import Flag, Interval, Text, Validated
from ..synth import clips
from ..synth.voices import default_soundfont
from .base import writing

SUBTYPE = "PCM_24"


@dataclass(frozen=True)
class SynthSettings(Validated):
    """What ``clarity synth`` renders.

    Parameters
    ----------
    per_instrument : int
        Gold clips per instrument (the seed's target, 100).
    flawed_per_instrument : int, optional
        Flawed clips per instrument (None: as many as gold).
    seed : int
        Same seed, same files, bit for bit.
    soundfont : str, optional
        A General MIDI ``.sf2``/``.sf3`` (None: ``TimGM6mb.sf2`` from the pretty_midi wheel).
    taste : bool
        Give every gold clip the taste band's processing (:mod:`ngn_clarity.flaws.taste`),
        recorded under its ``params``; the flawed clips are made from the processed gold.
    """

    per_instrument: int = settings.GOLD_PER_INSTRUMENT
    flawed_per_instrument: int | None = None
    seed: int = 0
    soundfont: str | None = None
    taste: bool = True

    constraints = {"per_instrument": Interval(int, 0, 100_000),
                   "flawed_per_instrument": (None, Interval(int, 0, 100_000)),
                   "seed": settings.SEED_RANGE, "soundfont": (None, Text()), "taste": Flag()}

    @property
    def n_flawed(self) -> int:
        return self.per_instrument if self.flawed_per_instrument is None \
            else self.flawed_per_instrument


def _describe(spec: clips.GoldSpec, soundfont: str | None) -> str:
    if spec.voice != "soundfont":
        return f"procedural:{spec.voice}"
    recipe = clips.RECIPES[spec.instrument][spec.recipe]
    kind = "kit" if recipe.drums else "program"
    assert soundfont is not None
    return f"{Path(soundfont).name}:{kind}{spec.program}"


def _clip(kind: str, spec: Any, spec_id: str, gold: Any, soundfont: str | None,
          raw: Any) -> tuple[bytes, ClipRecord]:
    """Render one clip: its WAV bytes and its record (what a fresh run commits)."""
    if kind == "gold":
        samples, facts = clips.render_gold(spec, soundfont, raw)
        flaw, severity, correction = taxonomy.NO_FLAW, 0.0, zero_correction()
        params = facts.pop("params")
    else:
        samples, facts = clips.render_flawed(spec, soundfont, raw)
        flaw, severity = spec.flaw, spec.severity
        params, correction = facts.pop("params"), facts.pop("correction")
    data = audio.encode_wav(samples, gold.sample_rate, SUBTYPE)
    digest = hashlib.sha256(data).hexdigest()
    extra = {**facts, "spec_hash": spec_id, "gold_file": gold.name,
             "generator": gold.voice, "sample_rate": gold.sample_rate,
             "channels": gold.channels, "duration_s": gold.seconds,
             "tempo_bpm": gold.groove.tempo, "key": gold.groove.key,
             "mode": gold.groove.mode, "seed": list(spec.seed), "options": gold.options}
    return data, ClipRecord(
        file=spec.name, subset=kind, instrument=spec.instrument, source=spec.source,
        flawed_type=flaw, sha256=digest, origin="synth", original_sha256=digest,
        group=gold.group, severity=severity, preset=_describe(gold, soundfont),
        correction=correction, params=params, extra=extra)


def _found(layout: Layout, kind: str, spec: Any, spec_id: str) -> str:
    """What is at a clip's name: ``new`` (nothing), ``up_to_date`` (this spec's clip and
    record), ``orphan`` (a file without a record: maybe this spec's, from a run killed
    between the two) or ``taken`` (another clip's)."""
    if not os.path.lexists(layout.raw_dir(kind, spec.instrument) / spec.name):
        return "new"
    try:
        prev = read_record(layout, kind, spec.instrument, spec.name)
    except RecordError:
        return "taken"
    if prev is None:
        return "orphan"
    return "up_to_date" if prev.extra.get("spec_hash") == spec_id else "taken"


_TAKEN = "a different file already has this name; not overwritten"


def _make_group(job: tuple[Any, list[Any], str | None, str, str, list[str]]) -> list[dict]:
    """Worker: one gold clip and the flawed clips made from it, rendering the gold once.

    Each clip is committed record first, file last (:func:`~ngn_clarity.records.commit_clip`,
    as every writer of ``raw/`` does). A clip whose file and record match its spec is up to
    date; a file without a record that holds exactly the bytes this spec renders (left by a
    run killed between the two) gets its record (``completed``); any other file in the way
    is reported, never overwritten.
    """
    gold, flawed, soundfont, root, gold_id, flawed_ids = job
    layout = Layout(Path(root))
    rows: list[dict] = []
    todo: list[tuple[str, Any, str, str]] = []
    for kind, spec, spec_id in [("gold", gold, gold_id), *(
            ("flawed", f, i) for f, i in zip(flawed, flawed_ids))]:
        found = _found(layout, kind, spec, spec_id)
        dest = str(layout.raw_dir(kind, spec.instrument) / spec.name)
        if found == "up_to_date":
            rows.append({"status": "up_to_date", "file": dest})
        elif found == "taken":
            rows.append({"status": "skipped", "file": dest, "reason": _TAKEN})
        else:
            todo.append((kind, spec, spec_id, found))
    raw = clips.render_gold_raw(gold, soundfont) if todo else None
    for kind, spec, spec_id, found in todo:
        data, record = _clip(kind, spec, spec_id, gold, soundfont, raw)
        dest = layout.raw_dir(kind, spec.instrument) / spec.name
        if found == "orphan":
            if sha256_file(dest) != record.sha256:
                rows.append({"status": "skipped", "file": str(dest), "reason": _TAKEN})
                continue
            write_record(layout, record)
            rows.append({"status": "completed", "file": str(dest)})
            continue
        try:
            commit_clip(layout, record, data=data)
        except FileExistsError:
            rows.append({"status": "skipped", "file": str(dest), "reason": _TAKEN})
            continue
        rows.append({"status": "made", "file": str(dest)})
    return rows


def _soundfont(cfg: SynthSettings, rep: StepReport) -> tuple[bool, str | None]:
    """(usable, the SoundFont to play) after the checks; notes say when parts go procedural."""
    sf = Path(cfg.soundfont) if cfg.soundfont else default_soundfont()
    if cfg.soundfont and not Path(cfg.soundfont).is_file():
        rep.errors.append(f"SoundFont {cfg.soundfont} does not exist")
        return False, None
    if sf is not None and importlib.util.find_spec("tinysoundfont") is None:
        rep.notes.append("tinysoundfont is not installed (pip install --no-deps "
                         "tinysoundfont); every part is procedural")
        sf = None
    elif sf is None:
        rep.notes.append("no SoundFont found (install pretty_midi or pass --soundfont); "
                         "every part is procedural")
    return True, str(sf) if sf else None


def _groups(layout: Layout, cfg: SynthSettings, sf: str | None) -> list[tuple]:
    """One job per gold clip: its spec, its flawed children's, and their spec hashes."""
    groups = []
    for inst in taxonomy.INSTRUMENTS:
        golds, flaweds = clips.plan(inst, cfg.per_instrument, cfg.n_flawed, cfg.seed, sf,
                                    cfg.taste)
        children: dict[str, list] = {g.group: [] for g in golds}
        for f in flaweds:
            children[f.gold.group].append(f)
        for g in golds:
            kids = children[g.group]
            groups.append((g, kids, sf, str(layout.root), clips.spec_hash(g, str(sf)),
                           [clips.spec_hash(f, str(sf)) for f in kids]))
    return groups


def synthesize(layout: Layout, cfg: SynthSettings | None = None, *, jobs: int | None = None,
               progress: bool = True) -> StepReport:
    """Render the embedded dataset into ``layout.raw`` (see the module doc).

    Parameters
    ----------
    layout : Layout
        The data folder (created if needed).
    cfg : SynthSettings, optional
        How many clips, which seed and SoundFont (default 100 + 100 per instrument).
    jobs : int, optional
        Worker processes (None: every core).
    progress : bool
        Show a progress bar on a terminal.

    Returns
    -------
    StepReport
        A ``done`` row per clip rendered or up to date; files in the way are skipped.
    """
    cfg = cfg or SynthSettings()
    rep = StepReport("synth")
    with layout.lock():
        ok, sf = _soundfont(cfg, rep)
        if not ok:
            return rep
        layout.init()
        with writing(layout, rep):
            groups = _groups(layout, cfg, sf)
            total = sum(1 + len(g[1]) for g in groups)
            with progress_bar(total, "synth", progress) as bar:
                for _, rows in run_tasks(_make_group, groups, jobs=jobs):
                    bar.update(len(rows))
                    for row in rows:
                        if row["status"] == "skipped":
                            rep.skip(row["file"], row["reason"])
                        else:
                            rep.done.append(row)
    made = sum(r["status"] == "made" for r in rep.done)
    completed = sum(r["status"] == "completed" for r in rep.done)
    rep.notes.append(f"{made} clip(s) rendered, {len(rep.done) - made - completed} up to "
                     f"date (seed {cfg.seed}, {cfg.per_instrument} gold + {cfg.n_flawed} "
                     f"flawed per instrument)")
    if completed:
        rep.notes.append(f"{completed} clip(s) an interrupted synth left without a label "
                         f"record got it (same bytes as this run renders)")
    return rep
