"""Run a batch's file jobs on a Dask cluster (``nanosizer[cluster]``), results in input order."""

from __future__ import annotations

from collections.abc import Iterable


def dask_outcomes(jobs: list, scheduler: str, workers: int) -> Iterable:
    """Submit every job to ``scheduler`` ('local': start a LocalCluster here) and yield in order.

    Workers must see the input and output paths (one machine, or a shared file system).
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise RuntimeError("Dask is not installed: pip install 'nanosizer[cluster]'") from None
    from .batch import _init_worker, analyse_file

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=max(1, workers), threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
        client.run(_init_worker)
    else:
        client = Client(scheduler)
    try:
        futures = client.map(analyse_file, jobs, pure=False)
        for future in futures:
            yield future.result()
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
