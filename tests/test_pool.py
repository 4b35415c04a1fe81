"""Worker processes: a crash costs only its job, and a job that kills its worker twice fails."""

import signal
import sys

import pytest
from helpers import double_or_die

from nanosizer.pool import crash_reason, resilient_map, run_alone

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals and /proc as on Linux")


def test_a_job_that_kills_its_worker_fails_alone_and_the_rest_go_on():
    retried = []
    results = list(
        resilient_map(
            double_or_die,
            [1, 2, 3, 4, 5, 6],
            2,
            crashed=lambda job, why: ("failed", job, why),
            on_retry=lambda job, why: retried.append(job),
        )
    )
    assert results[:2] == [2, 4] and results[3:] == [8, 10, 12]
    assert results[2][:2] == ("failed", 3)
    assert "signal 9" in results[2][2] and "out of memory" in results[2][2]
    assert 3 in retried  # the crashed job was retried once before it failed


def test_run_alone_tells_how_the_process_ended():
    assert run_alone(double_or_die, 5) == (10, None)
    result, why = run_alone(double_or_die, 3)
    assert result is None and why == crash_reason(-signal.SIGKILL)
    assert crash_reason(-signal.SIGSEGV).startswith("worker killed by signal 11 (SIGSEGV)")
    assert "code 3" in crash_reason(3)


class _BreakingPool:
    """A stand-in executor whose second job's worker dies and which then refuses new jobs, as a
    real pool does when the death is noticed between two submissions (a race CI once hit)."""

    made = 0

    def __init__(self, *args, **kwargs):
        from concurrent.futures import Future

        self.first = _BreakingPool.made == 0
        _BreakingPool.made += 1
        self.submitted, self._processes, self.future = 0, {}, Future

    def submit(self, func, job):
        from concurrent.futures.process import BrokenProcessPool

        self.submitted += 1
        if self.first and self.submitted == 3:
            raise BrokenProcessPool("A child process terminated abruptly")
        future = self.future()
        if self.first and self.submitted == 2:
            future.set_exception(BrokenProcessPool("A child process terminated abruptly"))
        else:
            future.set_result(func(job))
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def test_a_pool_that_breaks_between_submissions_loses_no_job(monkeypatch):
    import concurrent.futures

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", _BreakingPool)
    monkeypatch.setattr(_BreakingPool, "made", 0)
    retried = []
    on_retry = lambda job, why: retried.append(job)  # noqa: E731
    results = list(resilient_map(double_or_die, [1, 2, 4, 5], 2, on_retry=on_retry))
    assert results == [2, 4, 8, 10] and retried == [2]  # the job in flight retried alone, none lost
    assert _BreakingPool.made == 2  # the broken pool replaced once
