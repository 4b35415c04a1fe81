"""Screenshot of the napari widget on a bundled example, for the README (docs/napari-widget.png).

Runs offscreen; where there is no display, start one for napari's OpenGL canvas first, e.g.
``xvfb-run -a python scripts/napari_screenshot.py`` (Debian: apt install xvfb).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/napari-widget.png"))
    args = parser.parse_args()

    import napari
    from qtpy.QtWidgets import QApplication

    from nanosizer.data import example_images
    from nanosizer.napari_plugin.widget import ParticleAnalysisWidget

    viewer = napari.Viewer(show=False)
    viewer.window.resize(1500, 900)
    viewer.open(next(p for p in example_images() if "overlap-low" in p.name), plugin="nanosizer")
    widget = ParticleAnalysisWidget(viewer)
    viewer.window.add_dock_widget(widget, name="nanosizer", area="right")
    widget.analyse()
    while widget.result is None or not widget.analyse_button.isEnabled():
        QApplication.processEvents()
    widget.colour_box.setCurrentText("equivalent_diameter_nm")
    widget.table.sortItems(2)
    widget.table.selectRow(0)
    widget.table.scrollToTop()
    viewer.reset_view()
    for _ in range(20):
        QApplication.processEvents()
    from PIL import Image

    shot = Image.fromarray(viewer.screenshot(canvas_only=False)[..., :3])
    # 128 colours: a third of the bytes of the full-colour PNG, for a file that stays in git history
    palette = shot.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(args.out, optimize=True)
    print(f"wrote {args.out}")
    viewer.close()


if __name__ == "__main__":
    main()
