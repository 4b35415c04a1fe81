"""napari tests run offscreen: Qt's offscreen platform, with a virtual X server (Xvfb) only to
give napari's OpenGL canvas a context. They skip cleanly without napari or without Xvfb."""

import os
import shutil
import subprocess

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Xvfb must outlive Qt's connection (a server gone under Qt ends the test run with status 1),
# so a small watcher stops it once this test process has exited.
_WATCH = '"$0" "$@" & x=$!; while kill -0 {pid} 2>/dev/null; do sleep 1; done; kill $x; wait $x'


@pytest.fixture(scope="session", autouse=True)
def _gl_display():
    """A virtual display for the canvas's OpenGL context (Qt itself draws offscreen)."""
    pytest.importorskip("napari", reason='napari is not installed: pip install "nanosizer[napari]"')
    if os.environ.get("DISPLAY"):
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("napari's canvas needs OpenGL on an X display: install xvfb (Debian: apt install xvfb)")
    read, write = os.pipe()
    subprocess.Popen(
        ["bash", "-c", _WATCH.format(pid=os.getpid()), xvfb, "-displayfd", str(write)]
        + ["-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        pytest.skip("Xvfb did not start")
    os.environ["DISPLAY"] = f":{number}"
