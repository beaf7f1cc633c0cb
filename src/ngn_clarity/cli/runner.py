"""What every command shares: the console, the options read from the settings classes, and
the skeleton (:func:`execute`): console by verbosity -> usage checks -> the data folder
(must exist unless the command creates it) -> its lock for a writing command (``--wait``) ->
the command -> exit status 0/1/2.

Exit status: 0 = everything done; 1 = something was skipped or failed (each with a one-line
reason); 2 = bad usage (a number outside its allowed range is refused before any work,
checked against the same constraint its settings class declares).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from types import ModuleType
from typing import Any, Callable, Sequence

from .. import settings
from ..errors import ClarityError, SettingsError
from ..layout import Layout
from ..outcome import StepReport, one_line
from .registry import Command

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Console:
    """Prints by verbosity: ``-q`` shows only problems, ``-v`` adds per-file detail."""

    def __init__(self, verbosity: int = 0):
        self.verbosity = verbosity

    def info(self, msg: str) -> None:
        if self.verbosity >= 0:
            print(msg, flush=True)

    def detail(self, msg: str) -> None:
        if self.verbosity >= 1:
            print(one_line(msg), flush=True)

    def problem(self, msg: str) -> None:
        """One line on stderr (a newline in a file name is written ``\\n``)."""
        print(one_line(msg), file=sys.stderr, flush=True)

    def report(self, rep: StepReport) -> None:
        """A step's files (``-v``), notes, warnings (``-v``, else their count), skipped files
        and errors (stderr), one line each."""
        for d in rep.done:
            self.detail("  " + "  ".join(f"{k}={v}" for k, v in d.items()))
        for note in rep.notes:
            self.info(one_line(f"  note: {note}"))
        for w in rep.warnings:
            self.detail(f"  warning {w.path}: {w.reason}")
        if rep.warnings and self.verbosity < 1:
            self.info(f"  ({len(rep.warnings)} warning(s); -v lists them)")
        for s in rep.skipped:
            self.problem(f"  skipped {s.path}: {s.reason}")
        for e in rep.errors:
            self.problem(f"  error: {e}")

    def finish(self, rep: StepReport) -> int:
        """Print the report; the exit status it calls for."""
        self.report(rep)
        return EXIT_OK if rep.ok else EXIT_FAILED


def console(args: argparse.Namespace) -> Console:
    return Console(-1 if args.quiet else args.verbose)


# --- options read from the settings classes -----------------------------------------------------

def number(name: str, constraint: Any) -> Callable[[str], Any]:
    """An argparse ``type`` that parses a number and checks it against ``constraint`` (so
    the CLI and the Python API refuse the same values, with the same message)."""
    # a command line cannot say None: leave it out of the rule and of the message
    parts = tuple(c for c in settings.alternatives(constraint) if c is not None)
    kind = int if any(getattr(c, "kind", None) is int for c in parts) else float

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        try:
            settings.check(name, value, parts)
        except SettingsError as e:
            raise argparse.ArgumentTypeError(e.reason) from None
        return value

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def setting(g, flag: str, cls: type[settings.Validated], name: str, help: str,
            metavar: str = "N", **kw: Any) -> None:
    """``flag`` for field ``name`` of ``cls``: its type and range from the class's
    constraint, its default from the class (shown in ``--help``; a None default is for
    ``help`` to explain)."""
    default = cls.default(name)
    shown = "" if default is None else f" (default {default})"
    g.add_argument(flag, *kw.pop("aliases", ()), dest=kw.pop("dest", name),
                   type=number(name, cls.constraints[name]), default=default,
                   metavar=metavar, help=help + shown, **kw)


def choice(g, flag: str, cls: type[settings.Validated], name: str, help: str) -> None:
    """``flag`` for an :class:`~ngn_clarity.settings.Options` field of ``cls``."""
    default = cls.default(name)
    g.add_argument(flag, choices=cls.constraints[name].values, default=default,
                   help=f"{help} (default {default})")


def flag(g, flag: str, cls: type[settings.Validated], name: str, help: str) -> None:
    """A switch that turns a :class:`~ngn_clarity.settings.Flag` field of ``cls`` away from
    its default."""
    action = "store_false" if cls.default(name) else "store_true"
    g.add_argument(flag, dest=name, action=action, help=help)


def jobs(g) -> None:
    g.add_argument("--jobs", type=number("jobs", settings.JOBS_RANGE), default=None,
                   metavar="N", help="worker processes (default: all cores)")


def _address(text: str) -> str:
    try:
        settings.check("scheduler", text, settings.DaskAddress())
    except SettingsError as e:
        raise argparse.ArgumentTypeError(e.reason) from None
    return text


def scheduler(g) -> None:
    """``--scheduler`` and ``--scheduler-timeout`` (read them with :func:`cluster`)."""
    g.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None, type=_address,
                   help="run the per-clip tasks on this Dask scheduler's workers (they must "
                        "see the same data path)")
    setting(g, "--scheduler-timeout", settings.Scheduler, "timeout_s",
            "with --scheduler: seconds to wait for it to answer before giving up",
            metavar="SECONDS", dest="scheduler_timeout")


def cluster(args: argparse.Namespace) -> settings.Scheduler | None:
    """The Dask scheduler ``--scheduler`` and ``--scheduler-timeout`` name, or None."""
    if not args.scheduler:
        return None
    return settings.Scheduler(args.scheduler, args.scheduler_timeout)


def common(p: argparse.ArgumentParser, command: Command) -> None:
    """``--data-dir``, ``--wait``, ``-v``, ``-q`` as the command takes them."""
    g = p.add_argument_group("common options")
    if command.data:
        g.add_argument("--data-dir", metavar="DIR", default=None,
                       help=f"data root (default: ${settings.DATA_DIR_ENV} or "
                            f"./{settings.DEFAULT_DATA_DIR})")
    if command.writes:
        g.add_argument("--wait", action="store_true",
                       help="if another command is writing to the data folder, wait for it "
                            "instead of exiting")
    g.add_argument("-v", "--verbose", action="count", default=0, help="more detail")
    g.add_argument("-q", "--quiet", action="store_true", help="only problems and errors")


# --- running a command ---------------------------------------------------------------------------

def per_file(con: Console, files: Sequence[str], as_json: bool,
             compute: Callable[[str], dict], show: Callable[[str, dict], None]) -> int:
    """``compute(file) -> dict`` for each file: with ``as_json`` one JSON line each
    (``{"file": ..., **result}``), else ``show(file, result)``. A file that raises a
    :class:`ClarityError` gets its one-line reason (``{"file", "error"}`` in JSON, else on
    stderr); exit 1 if any did."""
    failed = False
    for name in files:
        try:
            result = compute(name)
        except ClarityError as e:
            failed = True
            if as_json:
                print(json.dumps({"file": name, "error": e.reason}), flush=True)
            else:
                con.problem(f"{name}: {e.reason}")
            continue
        if as_json:
            print(json.dumps({"file": name, **result}), flush=True)
        else:
            show(name, result)
    return EXIT_FAILED if failed else EXIT_OK


def in_data_folder(layout: Layout, create: bool = False, wait: bool = False):
    """The data folder's writer lock (the folder must exist unless ``create``)."""
    if not create:
        layout.require()
    return layout.lock(wait=wait)


def warn_jobs(con: Console, asked: int | None) -> None:
    """One line when ``--jobs`` asks for more workers than there are cores (workers are
    capped at one per clip; past the core count they only add memory)."""
    cores = os.cpu_count() or 1
    if asked is not None and asked > cores:
        con.problem(f"warning: --jobs {asked} is more than the {cores} CPU core(s) here: at "
                    f"most one worker per clip is started, and each one past {cores} only "
                    f"adds memory (about 50 MB), not speed")


def execute(command: Command, module: ModuleType, args: argparse.Namespace) -> int:
    """The skeleton every command runs in (see the module doc)."""
    con = console(args)
    warn_jobs(con, getattr(args, "jobs", None))
    without = getattr(module, "without_data", None)
    if without is not None and (code := without(args, con)) is not None:
        return code
    if not command.data:
        return module.run(args, con, None)
    layout = Layout.at(args.data_dir)
    if not command.writes:
        return module.run(args, con, layout)
    creates = getattr(module, "creates", lambda args: False)(args)
    with in_data_folder(layout, creates, args.wait):
        return module.run(args, con, layout)


def guarded(prog: str, call: Callable[[], int]) -> int:
    """``call()``'s exit status; a refusal becomes its one-line reason on stderr and exit 2
    (bad settings) or 1 (anything else the package refuses)."""
    try:
        return call()
    except SettingsError as e:
        print(f"{prog}: {e.reason}", file=sys.stderr)
        return EXIT_USAGE
    except ClarityError as e:
        msg = e.reason if not e.path or e.path in e.reason else f"{e.path}: {e.reason}"
        print(one_line(msg), file=sys.stderr)
        return EXIT_FAILED
