"""One exception root for everything the pipeline refuses, each with a one-line ``reason``.

::

    ClarityError                 .reason: one line a user can act on; .path when a file is meant
      SettingsError              a bad option or parameter value (the CLI exits 2)
      AudioError                 a file that is not usable audio (audio.py)
      LoudnessError              audio whose loudness cannot be measured (loudness.py)
        SilentAudioError         below the -70 LUFS absolute gate everywhere
      TaxonomyError              a name or label the taxonomy cannot accept (taxonomy.py)
      RecordError                a label record that cannot be read (records.py)
      OutputError                an output that cannot be written or replaced
        DiskFullError            ... because the device is full
      DataDirError               no data folder where one is needed
      BusyError                  the data folder is locked by another writing command
      ModelError                 no (usable) trained model
      SchedulerError             a Dask scheduler that cannot be reached

The CLI prints ``reason`` and exits 2 for :class:`SettingsError`, 1 for the others; any other
exception is a bug and keeps its traceback. Subclasses of ``ValueError`` where callers used
to catch ``ValueError`` (settings, loudness, taxonomy).
"""

from __future__ import annotations

import errno
import os


class ClarityError(Exception):
    """Root of the pipeline's own errors. ``reason`` is one line; ``path`` may be None."""

    def __init__(self, reason: str, path: str | os.PathLike | None = None):
        self.reason = str(reason)
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {self.reason}" if self.path else self.reason)

    def __reduce__(self):  # picklable whatever the subclass's signature (pool workers)
        return _rebuild, (type(self), self.reason, self.path)


def _rebuild(cls: type["ClarityError"], reason: str, path: str | None) -> "ClarityError":
    err = cls.__new__(cls)
    ClarityError.__init__(err, reason, path)
    return err


class SettingsError(ClarityError, ValueError):
    """A parameter outside its declared constraint (see :mod:`ngn_clarity.settings`)."""


class AudioError(ClarityError):
    """An audio file that cannot be used."""

    def __init__(self, path: str | os.PathLike, reason: str):
        super().__init__(reason, path)


class LoudnessError(ClarityError, ValueError):
    """Audio whose loudness cannot be measured."""


class SilentAudioError(LoudnessError):
    """Every gating block is below the -70 LUFS absolute gate: there is no loudness."""


class TaxonomyError(ClarityError, ValueError):
    """A name or label that the taxonomy cannot accept."""


class RecordError(ClarityError):
    """A label record that exists but cannot be read (corrupt JSON, wrong fields)."""


class OutputError(ClarityError):
    """An output file or folder that cannot be written or replaced."""


class DiskFullError(OutputError):
    """No space left on the device that holds an output."""


class DataDirError(ClarityError):
    """No data folder where a command needs one."""


class BusyError(ClarityError):
    """Another writing command holds the data folder's lock."""


class ModelError(ClarityError):
    """No trained model, or one that cannot be loaded."""


class SchedulerError(ClarityError):
    """A Dask scheduler that does not answer, or an address that is not one."""


def output_error(e: OSError, path: str | os.PathLike, doing: str = "writing") -> OutputError:
    """The :class:`OutputError` for an ``OSError`` met while ``doing`` ``path``."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"no space left on device while {doing} {path}", path)
    what = e.strerror or str(e)
    return OutputError(f"cannot {'replace' if doing == 'replacing' else 'write'} {path}: "
                       f"{what}", path)
