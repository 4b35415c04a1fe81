"""Run a batch's file jobs on a Dask cluster (``nanosizer[cluster]``), results in input order."""

from __future__ import annotations

from collections.abc import Iterable


def dask_outcomes(jobs: list, scheduler: str, workers: int, timeout_s: float = 10.0) -> Iterable:
    """Submit every job to ``scheduler`` ('local': start a LocalCluster here) and yield in order.

    Workers must see the input and output paths (one machine, or a shared file system). A
    scheduler that does not answer within ``timeout_s`` is one clear error naming its address.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise RuntimeError("Dask is not installed: pip install 'nanosizer[cluster]'") from None
    import dask

    from .io.frames import short_reason
    from .jobs import analyze_file, crashed, init_worker

    cluster = None
    if scheduler == "local":
        # a task whose worker dies is rerun once elsewhere; a second death makes it KilledWorker
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = LocalCluster(
                n_workers=max(1, workers), threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = Client(cluster)
        client.run(init_worker)
    else:
        try:
            client = Client(scheduler, timeout=timeout_s)
        except (OSError, TimeoutError, ValueError) as exc:
            raise RuntimeError(
                f"cannot reach the Dask scheduler at {scheduler} within {timeout_s:g} s "
                f"({short_reason(exc)}); "
                "is it running? (--scheduler-timeout to wait longer)"
            ) from None
    from distributed import KilledWorker

    try:
        futures = client.map(analyze_file, jobs, pure=False)
        for job, future in zip(jobs, futures, strict=True):
            try:
                outcome = future.result()
            except KilledWorker:  # its worker died twice (allowed-failures 1)
                outcome = crashed(job, "Dask worker died; out of memory?")
            except (OSError, TimeoutError) as exc:  # the scheduler went away
                raise RuntimeError(f"lost the Dask scheduler at {scheduler} ({short_reason(exc)})") from None
            yield outcome
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
