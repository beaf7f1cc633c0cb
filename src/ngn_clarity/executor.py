"""Where per-file tasks run: this process, a local process pool, or a Dask cluster.

Every step that works file by file (validate, normalize, extract, augment, synth) hands its
tasks to :func:`run_tasks`, which yields ``(index, result)`` pairs as they finish. A task that
raises (a full disk, say) stops the step: queued tasks are cancelled and the error reaches
the caller. The task function must be a
module-level function of picklable arguments that reads and writes only through the paths it
is given, so a Dask worker on another machine runs it unchanged as long as it sees the same
data path (a shared file system). Results are small (log entries, 64 floats), never audio, so
memory stays flat in the number of files. :func:`progress_bar` shows how far they are.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterator, Sequence

from threadpoolctl import threadpool_limits
from tqdm import tqdm

#: At most this many tasks per worker are in flight; the rest wait (bounded memory).
_IN_FLIGHT_PER_WORKER = 16


def die_with_parent() -> None:
    """Process-pool initializer.

    * One BLAS thread per worker: the workers already use every core, and OpenBLAS threads
      on top of them oversubscribe the machine (measured: 2.5x slower feature extraction
      with 2 workers x 2 BLAS threads on 2 cores).
    * On Linux, ask the kernel to kill this worker when its parent dies, so ``kill -9`` of a
      run does not leave workers waiting forever.
    """
    threadpool_limits(1)
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


def default_jobs() -> int:
    """Worker processes when ``--jobs`` is not given: every core."""
    return os.cpu_count() or 1


@contextlib.contextmanager
def progress_bar(total: int, desc: str, show: bool = True, unit: str = "clip") -> Iterator[Any]:
    """A tqdm bar on a terminal (none in logs and pipes, none when ``show`` is False)."""
    bar = tqdm(total=total, desc=desc, unit=unit, disable=None if show else True,
               leave=False)
    try:
        yield bar
    finally:
        bar.close()


def run_tasks(fn: Callable[[Any], Any], items: Sequence[Any], *, jobs: int | None = None,
              scheduler: str | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, fn(items[index]))`` for every item, in completion order.

    ``scheduler`` (``tcp://host:port``) sends the tasks to a Dask distributed cluster;
    otherwise ``jobs`` > 1 uses a local process pool and ``jobs`` <= 1 runs them here.
    """
    if not items:
        return
    if scheduler:
        yield from _dask(fn, items, scheduler)
        return
    jobs = jobs or default_jobs()
    if jobs <= 1 or len(items) == 1:
        for i, item in enumerate(items):
            yield i, fn(item)
        return
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(items)),
                               initializer=die_with_parent)
    try:
        pending: dict[Any, int] = {}
        next_item = 0
        limit = jobs * _IN_FLIGHT_PER_WORKER
        while next_item < len(items) or pending:
            while next_item < len(items) and len(pending) < limit:
                pending[pool.submit(fn, items[next_item])] = next_item
                next_item += 1
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield pending.pop(fut), fut.result()
    finally:  # on an error (or a consumer that stops early) drop what has not started
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(fn: Callable[[Any], Any], items: Sequence[Any], scheduler: str):
    from distributed import Client, as_completed

    with Client(scheduler) as client:  # as_completed needs it as the default client
        futures = client.map(fn, list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            result = fut.result()
            i = index[fut.key]
            fut.release()
            yield i, result
