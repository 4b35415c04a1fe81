"""Test helpers: drawn shapes with known answers and the location of the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# The shared data lives beside the checkout; NANOSIZER_SHARED points elsewhere (e.g. in CI clones).
SHARED = Path(os.environ.get("NANOSIZER_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
REALDATA = SHARED / "realdata"


def disc_mask(shape, centre, radius):
    """Pixels whose centre lies within ``radius`` of ``centre`` (row, col)."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


def polygon_mask(shape, corners_rc):
    """Pixels whose centre lies inside a polygon given as (row, col) corners."""
    from skimage.draw import polygon2mask

    return polygon2mask(shape, np.asarray(corners_rc, float))


def rotated_rectangle(shape, centre, height, width, angle_deg):
    """Corners (row, col) of a height x width rectangle rotated about its centre."""
    t = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    half = np.array([[-height, -width], [height, -width], [height, width], [-height, width]]) / 2
    return half @ rot.T + np.asarray(centre, float)


def double_or_die(job):
    """A worker job for the pool tests: twice the number, but job 3 kills its own process."""
    import signal

    if job == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return 2 * job


def child_pids(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found
