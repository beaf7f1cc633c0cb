"""``dataset_generator.py`` / ``clarity dataset``: the dataset steps, in the order they run.

:data:`STEPS` is the one ordered table of the seed's dataset steps (and ``augment``): its
order is the order they run in, whatever order the flags come in, and ``in_all`` says what
``--all`` means. :func:`run` performs the chosen ones and yields one :class:`Outcome` each
(its headline, and the report, manifest problems or validation it made), for the command
line to print.

Python API, one function per seed flag::

    from ngn_clarity.layout import Layout
    from ngn_clarity.steps import ingest, manifest, suno, validate
    layout = Layout.at("data")
    layout.init()                                            # --init
    ingest.import_gold(layout, "../Assets/Targets")          # --import-gold
    suno.prepare_suno(layout)                                # --prepare-suno
    ingest.organize_flawed(layout)                           # --organize-flawed
    manifest.write_manifest(layout)                          # --manifest
    validate.validate(layout)                                # --validate
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..layout import Layout
from ..settings import Scheduler
from ..outcome import Finding, StepReport
from .augment import AugmentSettings, augment
from .ingest import IngestSettings, import_gold, organize_flawed
from .manifest import write_manifest
from .suno import prepare_suno
from .validate import ValidationReport, validate

#: Where ``--import-gold`` looks by default: the seed's Clarity library beside the repo.
DEFAULT_GOLD_SOURCE = "../Assets/Targets"


@dataclass(frozen=True)
class DatasetRun:
    """What the dataset steps are given.

    Parameters
    ----------
    layout : Layout
        The data folder.
    source : str, optional
        Folder to read: the gold library for ``import_gold`` (default
        :data:`DEFAULT_GOLD_SOURCE`), the downloads for ``organize_flawed`` (default
        ``<data>/downloads``).
    ingest : IngestSettings
        ``--move`` and ``--segment`` of the importers.
    augment : AugmentSettings
        What ``augment`` makes.
    optional_sources : bool
        ``--all``: a missing library or downloads folder is noted, not a failure.
    """

    layout: Layout
    source: str | None = None
    ingest: IngestSettings = field(default_factory=IngestSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    jobs: int | None = None
    scheduler: str | Scheduler | None = None
    progress: bool = True
    optional_sources: bool = False


@dataclass
class Outcome:
    """What one step did: a headline, and whichever report it made."""

    step: str
    headline: str
    report: StepReport | None = None
    problems: list[Finding] = field(default_factory=list)
    """Files the manifest could not read."""
    validation: ValidationReport | None = None

    @property
    def ok(self) -> bool:
        return ((self.report is None or self.report.ok)
                and (self.validation is None or self.validation.ok))


def _init(run: DatasetRun) -> Outcome:
    created = run.layout.init()
    return Outcome("init", f"init: {run.layout.root}: {len(created)} folder(s) created, "
                           f"{len(run.layout.tree_dirs()) - len(created)} already there")


def _importer(step: str, default: Callable[[Layout], Path],
              place: Callable[..., StepReport]) -> Callable[[DatasetRun], Outcome]:
    label = step.replace("_", "-")

    def do(run: DatasetRun) -> Outcome:
        src = Path(run.source) if run.source else default(run.layout)
        if run.optional_sources and not src.is_dir():
            return Outcome(step, f"{label}: {src} not found; skipped (optional with --all)")
        rep = place(run.layout, src, move=run.ingest.move, segment=run.ingest.segment)
        return Outcome(step, f"{label}: {len(rep.done)} clip(s) placed from {src}, "
                             f"{len(rep.skipped)} skipped", rep)

    return do


def augment_outcome(layout: Layout, cfg: AugmentSettings, *, jobs: int | None = None,
                    scheduler: str | Scheduler | None = None,
                    progress: bool = True) -> Outcome:
    """Run ``augment`` and say what it made (also what ``clarity augment`` prints)."""
    rep = augment(layout, cfg, jobs=jobs, scheduler=scheduler, progress=progress)
    return Outcome("augment", f"augment: {len(rep.done)} flawed clip(s) made -> "
                              f"{layout.raw / 'flawed'}", rep)


def _augment(run: DatasetRun) -> Outcome:
    return augment_outcome(run.layout, run.augment, jobs=run.jobs, scheduler=run.scheduler,
                           progress=run.progress)


def _prepare_suno(run: DatasetRun) -> Outcome:
    cfg = prepare_suno(run.layout)
    n = sum(len(f["prompts"]) for i in cfg["instruments"].values() for f in i["flaws"].values())
    classes = sum(len(i["flaws"]) for i in cfg["instruments"].values())
    return Outcome("prepare_suno", f"prepare-suno: {run.layout.suno_config} ({n} prompts, "
                                   f"{classes} classes)")


def _manifest(run: DatasetRun) -> Outcome:
    m = write_manifest(run.layout)
    s = m["summary"]
    return Outcome("manifest", f"manifest: {run.layout.manifest}: gold {s['gold']}, flawed "
                               f"{s['flawed']}, total {s['total']}, total floats "
                               f"{s['total_floats']:,}",
                   problems=[Finding(p["path"], p["reason"]) for p in m["problems"]])


def _validate(run: DatasetRun) -> Outcome:
    return Outcome("validate", "validate:",
                   validation=validate(run.layout, jobs=run.jobs, progress=run.progress))


@dataclass(frozen=True)
class DatasetStep:
    """One dataset step: its name (the flag ``--<name with dashes>``), what it does, and
    whether ``--all`` runs it."""

    name: str
    help: str
    run: Callable[[DatasetRun], Outcome]
    in_all: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


STEPS: tuple[DatasetStep, ...] = (
    DatasetStep("init", "create raw/{gold,flawed}/<instrument>, processed/, features/", _init),
    DatasetStep("import_gold", "copy a gold stem library into raw/gold/ (see --source)",
                _importer("import_gold", lambda _: Path(DEFAULT_GOLD_SOURCE), import_gold)),
    DatasetStep("organize_flawed", "copy flawed downloads into raw/flawed/ (see --source)",
                _importer("organize_flawed", lambda layout: layout.downloads,
                          organize_flawed)),
    DatasetStep("augment", "make flawed clips from every gold clip with the flaw engine (as "
                           "`clarity augment`; see --per-gold, --severity, --seed)", _augment,
                in_all=False),
    DatasetStep("prepare_suno",
                "write suno_generation_config.json (prompts per instrument x flaw)",
                _prepare_suno),
    DatasetStep("manifest", "write manifest.json", _manifest),
    DatasetStep("validate", "check the tree and every file; exit 1 on errors", _validate),
)
#: What ``--all`` runs, in order.
ALL: tuple[str, ...] = tuple(s.name for s in STEPS if s.in_all)


def chosen(asked: Iterable[str], all_steps: bool = False) -> list[DatasetStep]:
    """The steps to run, in :data:`STEPS` order: those ``asked`` for by name, and with
    ``all_steps`` every one ``--all`` runs."""
    names = set(asked)
    return [s for s in STEPS if (all_steps and s.in_all) or s.name in names]


def run(steps: list[DatasetStep], ctx: DatasetRun) -> Iterator[Outcome]:
    """Run ``steps`` in order on ``ctx.layout`` (holding its lock); yield each outcome.

    Only ``init`` starts a data folder: without it the folder must exist
    (:class:`~ngn_clarity.errors.DataDirError` otherwise, before any step runs).
    """
    if not any(s.name == "init" for s in steps):
        ctx.layout.require()
    with ctx.layout.lock():
        for step in steps:
            yield step.run(ctx)
