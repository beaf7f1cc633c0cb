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
import socket
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterator, Sequence

from threadpoolctl import threadpool_limits
from tqdm import tqdm

from .errors import SchedulerError
from .settings import Scheduler

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
              scheduler: str | Scheduler | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, fn(items[index]))`` for every item, in completion order.

    ``scheduler`` (``tcp://host:port``, or a :class:`~ngn_clarity.settings.Scheduler` with
    its timeout) sends the tasks to a Dask distributed cluster; otherwise ``jobs`` > 1 uses
    a local process pool of at most one worker per item, and ``jobs`` <= 1 runs them here.
    A scheduler that does not answer raises :class:`SchedulerError` (one line: the address
    and what failed).
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


def _probe(address: str, timeout_s: float) -> str:
    """What a plain TCP connection to the scheduler's host and port says (the reason a
    Dask client only reports as a time-out)."""
    rest = address.partition("://")[2] or address
    host, _, port = rest.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            return "the port is open but no Dask scheduler answered on it"
    except socket.gaierror:
        return f"host {host} not found"
    except ConnectionRefusedError:
        return "connection refused (nothing listens on that port)"
    except TimeoutError:
        return "no answer"
    except (OSError, ValueError) as e:
        return getattr(e, "strerror", None) or str(e)


def connect(scheduler: str | Scheduler) -> Any:
    """A Dask client of ``scheduler``; :class:`SchedulerError` if it does not answer within
    its timeout, or the address is not a scheduler's."""
    from distributed import Client

    where = scheduler if isinstance(scheduler, Scheduler) else Scheduler(scheduler)
    try:
        return Client(where.address, timeout=where.timeout_s)
    except (OSError, TimeoutError):
        why = _probe(where.address, min(where.timeout_s, 2.0) or 0.1)
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {where.address}: {why} (waited "
            f"{where.timeout_s:g} s; is it running there? --scheduler-timeout waits "
            f"longer)") from None
    except ValueError as e:
        raise SchedulerError(f"{where.address} is not a Dask scheduler address: {e}") from None


#: Items per Dask task at most: one future per clip cost the scheduler more than a short clip
#: costs to process (20,000 one-second clips: 25 ms a clip on 2 workers against 9.4 ms in a
#: local pool); a task of a few clips is still small enough to spread evenly.
DASK_CHUNK = 16


def each(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """``[fn(item) for item in items]`` (one Dask task runs a chunk of items)."""
    return [fn(item) for item in items]


def _dask(fn: Callable[[Any], Any], items: Sequence[Any], scheduler: str | Scheduler):
    """Chunks of at most :data:`DASK_CHUNK` items (at least four chunks a worker thread), at
    most :data:`_IN_FLIGHT_PER_WORKER` chunks a thread in flight (the client holds a window
    of futures, not one per item); each item's result is yielded as its chunk finishes."""
    from distributed import as_completed

    with connect(scheduler) as client:  # as_completed needs it as the default client
        threads = max(1, sum(client.nthreads().values()))
        size = max(1, min(DASK_CHUNK, -(-len(items) // (4 * threads))))
        starts = iter(range(0, len(items), size))
        pending = as_completed()
        first: dict[str, int] = {}

        def submit() -> None:
            start = next(starts, None)
            if start is not None:
                fut = client.submit(each, fn, list(items[start:start + size]), pure=False)
                first[fut.key] = start
                pending.add(fut)

        for _ in range(threads * _IN_FLIGHT_PER_WORKER):
            submit()
        for fut in pending:
            results = fut.result()
            start = first.pop(fut.key)
            fut.release()
            submit()
            for k, result in enumerate(results):
                yield start + k, result
