"""``clarity``: the command line, a thin layer over the Python API.

Each command is one module of this package (:mod:`.registry` lists them): it adds its flags
(defaults, ranges and choices read from the settings classes and the schema registry, so
``--help`` shows them) and calls the package's functions; :mod:`.runner` is the skeleton
they share. Only the chosen command's module is imported, so ``clarity --help`` starts at
once. The seed's scripts (``dataset_generator.py`` and friends) call :func:`main` with their
own command name, so they accept exactly the same flags.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import __version__
from .registry import COMMANDS
from .runner import EXIT_FAILED, EXIT_OK, EXIT_USAGE, common, execute, guarded

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]


def build_parser(prog: str = "clarity", only: str | None = None,
                 full: str | None = None) -> argparse.ArgumentParser:
    """The ``clarity`` parser with every command listed and ``full``'s flags, or (``only``)
    one command's parser for a seed script."""
    if only is not None:
        command = COMMANDS[only]
        p = argparse.ArgumentParser(prog=prog, description=command.help)
        command.load().add_arguments(p)
        common(p, command)
        return p
    p = argparse.ArgumentParser(prog=prog, description="NGN Clarity training pipeline.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sp = sub.add_parser(name, help=command.help, description=command.help)
        if name == full:
            command.load().add_arguments(sp)
            common(sp, command)
    return p


def main(argv: Sequence[str] | None = None, *, command: str | None = None,
         prog: str | None = None) -> int:
    """Entry point of ``clarity`` (and, with ``command``, of a seed script).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default ``sys.argv[1:]``).
    command : str, optional
        Run this command with ``argv`` as its flags (the seed scripts).
    prog : str, optional
        The program name in messages.

    Returns
    -------
    int
        0 = all done, 1 = something was skipped or failed, 2 = bad usage, 130 = interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if command is not None:
        parser = build_parser(prog or COMMANDS[command].seed_script or command, only=command)
        args = parser.parse_args(argv)
        args.command = command
    else:
        chosen = next((a for a in argv if not a.startswith("-")), None)
        args = build_parser(prog or "clarity", full=chosen).parse_args(argv)
    cmd = COMMANDS[args.command]
    try:
        return guarded(prog or "clarity", lambda: execute(cmd, cmd.load(), args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
