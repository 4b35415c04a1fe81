"""A batch survives its workers, stops cleanly on Ctrl-C, and refuses images too big for memory."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tifffile
from helpers import child_pids

from nanosizer.synth import synth, write_synth

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals and /proc as on Linux")


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """Twelve generated images, slow enough (network, 768²) to be caught mid-run."""
    folder = tmp_path_factory.mktemp("many")
    for k in range(12):
        write_synth(synth("overlap-low", rng=40 + k, size=768), folder, f"img{k:02d}")
    return folder


def _start(folder, out, *extra):
    cmd = [sys.executable, "-m", "nanosizer.cli", "analyze", str(folder), "-o", str(out), "--workers", "2"]
    return subprocess.Popen(
        [*cmd, "--no-report", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_interrupts,
    )


def _default_interrupts() -> None:
    """Ctrl-C as in a user's shell: an ignored or blocked SIGINT is inherited through exec, and
    pytest's process may hold one (multiprocessing blocks it while starting its helpers)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _wait_for_first_image(process, out, timeout=120):
    tic = time.monotonic()
    while not list((out / ".done").glob("*.json")) if (out / ".done").is_dir() else True:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() - tic < timeout
        time.sleep(0.05)


def _workers(pid: int) -> list[int]:
    """The pool's worker processes among a process's children (not multiprocessing's helpers)."""
    return [c for c in child_pids(pid) if b"spawn_main" in open(f"/proc/{c}/cmdline", "rb").read()]


def _running(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_worker_costs_nothing(many, tmp_path):
    out = tmp_path / "out"
    process = _start(many, out)
    _wait_for_first_image(process, out)
    workers = _workers(process.pid)
    assert workers, "no worker processes found"
    os.kill(workers[0], signal.SIGKILL)  # as the out-of-memory killer does
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "in flight when its pool broke" in stderr and "retrying it alone" in stderr  # files named
    assert len(list((out / ".done").glob("*.json"))) == 12  # every image, the killed one included
    assert "12 image(s)" in stdout


def test_ctrl_c_stops_soon_and_leaves_a_resumable_run(many, tmp_path):
    out = tmp_path / "out"
    process = _start(many, out)
    _wait_for_first_image(process, out)
    workers = _workers(process.pid)
    tic = time.monotonic()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert time.monotonic() - tic < 5
    assert process.returncode == 130, stderr
    assert "interrupted after" in stderr and "--resume" in stderr and "Traceback" not in stderr
    time.sleep(0.5)
    assert workers and not [pid for pid in workers if _running(pid)]  # no worker left behind
    finished = len(list((out / ".done").glob("*.json")))
    assert 1 <= finished < 12
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "nanosizer.cli",
            "analyze",
            str(many),
            "-o",
            str(out),
            "--resume",
            "--no-report",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0 and f"{finished} file(s) reused" in again.stdout


def test_an_image_too_big_for_memory_is_refused_with_the_way_out(tmp_path):
    from typer.testing import CliRunner

    from nanosizer.cli import app
    from nanosizer.memory import estimate_peak_mb, plan_workers

    big = tmp_path / "montage.tif"
    image = np.full((4096, 4096), 200, np.uint8)  # generated here, never kept
    image[100:140, 100:140] = 30
    tifffile.imwrite(big, image)
    small = tmp_path / "small.tif"
    write_synth(synth("overlap-low", rng=1, size=256), tmp_path, "small")
    need = estimate_peak_mb(4096, 4096)
    budget = (need + estimate_peak_mb(256, 256)) / 2  # enough for the small image only
    result = CliRunner().invoke(
        app,
        ["analyze", str(big), str(small.with_suffix(".tif")), "-o", str(tmp_path / "o"), "--pixel-size", "1"]
        + ["--segmenter", "threshold", "--max-memory", str(int(budget)), "--workers", "1"],
    )
    assert result.exit_code == 1
    assert f"needs about {need:.0f} MB" in result.output and "--roi" in result.output
    assert (tmp_path / "o" / "small").is_dir()  # the batch went on
    workers, why = plan_workers([big] * 4, 4, budget_mb=2.5 * need)  # four such files, room for two
    assert workers == 2 and "instead of 4" in why
    assert plan_workers([big], 4, budget_mb=2.5 * need) == (1, None)  # one file: one worker, no message


def test_learned_separation_plans_with_its_larger_need():
    from nanosizer.memory import estimate_peak_mb, too_big_reason

    uecs, learned = estimate_peak_mb(4096, 4096), estimate_peak_mb(4096, 4096, learned=True)
    assert learned > uecs + 250  # measured: +278 MB at 4096²
    assert too_big_reason(4096, 4096, (uecs + learned) / 2) is None
    assert "needs about" in too_big_reason(4096, 4096, (uecs + learned) / 2, learned=True)


def test_dark_field_plans_with_the_dark_field_decoders_need():
    from nanosizer.memory import estimate_peak_mb

    bright, dark = estimate_peak_mb(2048, 2048), estimate_peak_mb(2048, 2048, own_decoder=True)
    assert dark >= 754 > bright  # measured: dark field 754 MB at 2048² (UECS), bright field 532
    assert estimate_peak_mb(2048, 2048, learned=True, own_decoder=True) >= 793
