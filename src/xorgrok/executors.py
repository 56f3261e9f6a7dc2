"""Executors of sweeps: a pool of local worker processes that share the cores, ignore
Ctrl-C (the parent stops them) and end when their parent dies; :func:`stop_workers`
shuts such a pool down at once.

:func:`xorgrok.sweep.sweep` uses them when ``workers > 1``; a page or a script reuses
one pool for several sweeps (:func:`xorgrok.pages.start_executor`).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time

from .resources import set_torch_threads

__all__ = ["local_executor", "stop_workers"]

#: BLAS thread-pool sizes, set for the workers while they start.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _init_worker(threads: int, parent: int | None = None) -> None:
    """Set up a worker process: torch threads; Ctrl-C is the parent's to handle (it
    stops the workers); a watcher thread ends the worker when its parent ``parent`` (a
    pid) is gone, even after kill -9."""
    set_torch_threads(threads)  # for the worker's life
    if parent is None or _WATCHING:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # see local_executor
    _WATCHING.append(parent)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCH_PERIOD)
        os._exit(1)

    threading.Thread(target=watch, name="xorgrok-parent-watch", daemon=True).start()


#: Seconds between two checks of a worker that its parent is alive.
_WATCH_PERIOD = 0.2
_WATCHING: list[int] = []


def stop_workers(executor: cf.Executor, timeout: float = 5.0) -> None:
    """Shut a :class:`~concurrent.futures.ProcessPoolExecutor` down now: cancel what has
    not started and terminate (then kill) the processes running tasks, so that none
    outlives an interrupted sweep."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in processes:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)


def local_executor(workers: int | None = None) -> cf.ProcessPoolExecutor:
    """A pool of ``workers`` local processes (default: one per CPU core) set up for
    sweeps.

    Processes are started with ``spawn`` (safe with torch's thread pools; in a script,
    call :func:`~xorgrok.sweep.sweep` under ``if __name__ == "__main__":``) and share
    the cores: each uses cores // workers torch threads. Reuse one pool for several
    sweeps to pay the start-up (importing torch) once; shut it down after.
    """
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    threads = max(1, (os.cpu_count() or 1) // workers)
    executor = cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(threads, os.getpid()),
    )
    # Start every worker now, with BLAS thread pools sized like torch's (numpy reads
    # these variables when it is imported, before any initializer runs); spawned
    # processes inherit the environment at start.
    saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
    os.environ.update({k: str(threads) for k in _THREAD_VARIABLES})
    # Workers ignore Ctrl-C from their start (a terminal sends it to the whole process
    # group; the parent stops them): SIGINT is blocked while they are spawned, a mask
    # they inherit until their initializer ignores it. A Ctrl-C of that moment is noted
    # (not raised half-way through a spawn) and raised once every worker has started.
    main = threading.current_thread() is threading.main_thread()
    noted: list[int] = []
    if main:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        handler = signal.signal(signal.SIGINT, lambda signum, _: noted.append(signum))
    try:
        try:
            for _ in range(workers):
                executor.submit(_init_worker, threads, os.getpid())
        finally:
            os.environ.update({k: v for k, v in saved.items() if v is not None})
            for k in (k for k, v in saved.items() if v is None):
                os.environ.pop(k, None)
            if main:
                signal.signal(signal.SIGINT, handler)
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # runs a pending one
        if noted:
            signal.raise_signal(signal.SIGINT)
    except BaseException:
        stop_workers(executor)
        raise
    return executor
