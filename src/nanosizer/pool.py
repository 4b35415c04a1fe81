"""Worker processes that survive a crashed worker and stop promptly on Ctrl-C.

A batch of hours must not end because one worker was killed (the out-of-memory killer sends
SIGKILL) or segfaulted. :func:`resilient_map` runs jobs in a process pool, a few ahead of the
workers only, and when the pool breaks it retries each job that was in flight alone, in a
fresh process whose exit code says what happened; a job that kills its process twice becomes
a failure with the reason, and the batch goes on in a new pool. On Ctrl-C the workers are
terminated at once and :class:`KeyboardInterrupt` reaches the caller, whose finished work is
already on disk.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator

POLL_S = 0.25  # how often the parent looks up from waiting (bounds the delay of Ctrl-C)
# Workers are started fresh ("spawn"), never forked: a fork would copy the parent's onnxruntime
# state (sessions, thread pools with their locks) into a process that then hangs opening its own.
START_METHOD = "spawn"


def crash_reason(exitcode: int | None) -> str:
    """Words for how a worker process ended without a result."""
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "a signal"
        hint = "; out of memory?" if number == signal.SIGKILL else ""
        return f"worker killed by signal {number} ({name}){hint}"
    return f"worker exited with code {exitcode} without a result"


def run_alone(func: Callable, job, initializer: Callable | None = None):
    """``func(job)`` in a fresh process: (result, None), or (None, why) when the process died."""
    context = multiprocessing.get_context(START_METHOD)
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(func, job, initializer, send), daemon=True)
    process.start()
    send.close()
    try:
        result = receive.recv()
    except EOFError:  # the child died before sending anything
        result = None
    process.join()
    receive.close()
    if result is None:
        return None, crash_reason(process.exitcode)
    return result, None


def _child(func, job, initializer, send) -> None:
    if initializer is not None:
        initializer()
    send.send(func(job))
    send.close()


def ignore_interrupts() -> None:
    """In a worker: leave Ctrl-C to the parent, which stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def resilient_map(
    func: Callable,
    jobs: list,
    workers: int,
    initializer: Callable | None = None,
    crashed: Callable[[object, str], object] | None = None,
    on_retry: Callable[[object, str], None] | None = None,
) -> Iterator:
    """``func`` over ``jobs`` in ``workers`` processes; results in input order.

    When a worker dies, every job then in flight is retried alone in a fresh process
    (``on_retry(job, why)`` is told first, ``why`` saying how the worker ended); a job whose
    retry dies too yields ``crashed(job, why)``. ``func`` must not raise: its failures belong in its result.
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    def start_workers():
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(START_METHOD),
            initializer=_ignoring(initializer),
        )

    waiting = deque(enumerate(jobs))
    finished: dict[int, object] = {}
    running: dict = {}
    next_out = 0
    pool = start_workers()
    processes: dict = {}
    try:
        while waiting or running:
            while waiting and len(running) < 2 * workers:  # a short queue: a crash costs little
                index, job = waiting[0]
                try:
                    future = pool.submit(func, job)
                except BrokenProcessPool:  # a worker died since the last look
                    if running:
                        break  # the futures in flight say which jobs it took down with it
                    stop_workers(pool)  # none in flight: nothing lost, a fresh pool
                    pool, processes = start_workers(), {}
                    continue
                waiting.popleft()
                running[future] = index
            processes.update(getattr(pool, "_processes", None) or {})  # to read how one ended
            done, _ = wait(list(running), timeout=POLL_S, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                done, _ = wait(list(running))  # the broken pool settles every other future too
            lost = []
            for future in done:
                index = running.pop(future)
                try:
                    finished[index] = future.result()
                except BrokenProcessPool:
                    lost.append(index)
            if lost:
                codes = [p.exitcode for p in processes.values() if p.exitcode not in (None, 0)]
                why = crash_reason(codes[0]) if codes else "a worker process died; killed? out of memory?"
                stop_workers(pool)
                for index in sorted(lost):
                    finished[index] = _retry(func, jobs[index], initializer, crashed, on_retry, why)
                pool, processes = start_workers(), {}
            while next_out in finished:
                yield finished.pop(next_out)
                next_out += 1
    except BaseException:  # Ctrl-C, or the consumer stopped: end the workers now
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def _retry(func, job, initializer, crashed, on_retry, why):
    if on_retry is not None:
        on_retry(job, why)
    result, died = run_alone(func, job, _ignoring(initializer))
    if died is None:
        return result
    return crashed(job, died) if crashed is not None else None


def _ignoring(initializer):
    """The worker initialiser, after leaving Ctrl-C to the parent (picklable for spawn)."""
    import functools

    return functools.partial(_start_worker, initializer)


def _start_worker(initializer) -> None:
    ignore_interrupts()
    if initializer is not None:
        initializer()


def stop_workers(pool) -> None:
    """Terminate a pool's processes now and drop its queue (running images are abandoned;
    their atomic writes leave nothing half-written)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=2)
        if process.is_alive():
            with contextlib.suppress(ProcessLookupError):  # it may end between the two calls
                os.kill(process.pid, signal.SIGKILL)


def first_interrupt_only() -> None:
    """After a first Ctrl-C, make a second one end the process at once (exit 130)."""
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, lambda *_: os._exit(130))


__all__ = ["crash_reason", "first_interrupt_only", "resilient_map", "run_alone", "stop_workers"]
