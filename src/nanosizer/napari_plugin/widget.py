"""The napari dock widget: analyse an image layer, look at the particles, correct them with
napari's label tools, re-measure and export, over the same functions as the CLI
(:func:`nanosizer.pipeline.iter_analysis`, :mod:`nanosizer.edit`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from napari.layers import Image
from napari.qt.threading import create_worker
from napari.utils.colormaps import DirectLabelColormap
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from ..edit import describe_edits, remeasure, split_along_line, write_edited_results
from ..measure.table import SUMMARY_MEASURES
from ..pipeline import ANALYSIS_STAGES, AnalysisResult, iter_analysis
from ..regions import paint_labels
from .reader import METADATA_KEY, micrograph_from_layer
from .settings_form import SettingsForm

LABEL_COLOURS = "label colours"
TABLE_COLUMNS = ("particle_id", *SUMMARY_MEASURES, "hidden_fraction", "separated", "non_convex", "edited")
EXCLUDED_COLOUR = (1.0, 0.25, 0.1, 0.8)
ROLE = Qt.UserRole


class ParticleAnalysisWidget(QWidget):
    """Analyse the chosen image layer; particles, excluded regions and cut lines come back as
    layers, the measures as a sortable table linked to the particles both ways."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.analysed: AnalysisResult | None = None  # as the pipeline left it
        self.result: AnalysisResult | None = None  # after the latest re-measure
        self.particles_layer = self.excluded_layer = self.lines_layer = None
        self._label_colormap = None
        self._syncing = False
        self._worker = None

        self.image_box = QComboBox()
        self.pixel_size = QDoubleSpinBox()
        self.pixel_size.setDecimals(6)
        self.pixel_size.setRange(0.0, 1e5)
        self.pixel_size.setSuffix(" nm/px")
        self.pixel_size.setToolTip("Pixel size in nm: from the file's calibration when it has one.")
        self.settings_form = SettingsForm()
        scroll = QScrollArea()
        scroll.setWidget(self.settings_form)
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(220)
        settings_box = QCollapsible("Settings")
        settings_box.addWidget(scroll)
        self.analyse_button = QPushButton("Analyse")
        self.progress = QProgressBar()
        self.progress.setRange(0, len(ANALYSIS_STAGES))
        self.progress.setValue(0)
        self.status = QLabel("Open a micrograph, then Analyse.")
        self.status.setWordWrap(True)
        self.colour_box = QComboBox()
        self.colour_box.addItems([LABEL_COLOURS, *SUMMARY_MEASURES])
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(TABLE_COLUMNS))
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.figure = Figure(figsize=(3, 2.2), tight_layout=True)
        self.histogram = FigureCanvasQTAgg(self.figure)
        self.split_button = QPushButton("Split along lines")
        self.split_button.setToolTip("Cut the particles crossed by the lines drawn in the cut-lines layer.")
        self.remeasure_button = QPushButton("Re-measure")
        self.remeasure_button.setToolTip("Measure the edited particles again (delete, merge, paint, split).")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write particles.csv/.xlsx, labels.tif, overlay.png, summary.json.")

        form = QFormLayout()
        form.addRow("Image", self.image_box)
        form.addRow("Pixel size", self.pixel_size)
        form.addRow("Colour by", self.colour_box)
        buttons = QHBoxLayout()
        for button in (self.split_button, self.remeasure_button, self.export_button):
            buttons.addWidget(button)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.histogram)
        self.setMinimumWidth(440)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(settings_box)
        layout.addWidget(self.analyse_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(splitter, stretch=1)
        layout.addLayout(buttons)
        self._enable_corrections(False)

        self.analyse_button.clicked.connect(self.analyse)
        self.split_button.clicked.connect(self.split_along_lines)
        self.remeasure_button.clicked.connect(self.remeasure)
        self.export_button.clicked.connect(self._ask_export)
        self.colour_box.currentTextChanged.connect(self.colour_by)
        self.table.itemSelectionChanged.connect(self._table_selected)
        self.image_box.currentTextChanged.connect(self._image_chosen)
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            event.connect(self._refresh_images)
        self._refresh_images()

    # --- the image -------------------------------------------------------------------------
    def _refresh_images(self, event=None) -> None:
        current = self.image_box.currentText()
        names = [layer.name for layer in self.viewer.layers if isinstance(layer, Image)]
        self.image_box.blockSignals(True)
        self.image_box.clear()
        self.image_box.addItems(names)
        active = self.viewer.layers.selection.active
        if current in names:
            self.image_box.setCurrentText(current)
        elif isinstance(active, Image):
            self.image_box.setCurrentText(active.name)
        self.image_box.blockSignals(False)
        self._image_chosen(self.image_box.currentText())

    def _image_chosen(self, name: str) -> None:
        layer = self.image_layer()
        if layer is None:
            return
        record = layer.metadata.get(METADATA_KEY, {})
        if record.get("pixel_size_nm"):
            self.pixel_size.setValue(record["pixel_size_nm"])
        elif str(layer.units[-1]) in ("nanometer", "nm"):
            self.pixel_size.setValue(float(layer.scale[-1]))

    def image_layer(self) -> Image | None:
        name = self.image_box.currentText()
        return self.viewer.layers[name] if name in self.viewer.layers else None

    # --- analysis --------------------------------------------------------------------------
    def analyse(self) -> None:
        """Analyse the chosen image in a worker thread; the viewer stays usable."""
        layer = self.image_layer()
        if layer is None:
            self._say("Open a micrograph first.", error=True)
            return
        if not self.pixel_size.value() > 0:
            self._say("Give the pixel size in nm: this image has no calibration.", error=True)
            return
        try:
            settings = self.settings_form.settings()
            micrograph = micrograph_from_layer(
                self._displayed(layer), layer.metadata, self.pixel_size.value()
            )
        except (ValueError, TypeError) as exc:
            self._say(str(exc), error=True)
            return
        self.analyse_button.setEnabled(False)
        self.progress.setValue(0)
        self._say(f"Analysing {micrograph.name}…")
        # errors are shown in the widget (_failed), not re-raised in the viewer's main thread
        worker = create_worker(iter_analysis, micrograph, settings, _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._stage_done)
        worker.returned.connect(self._show_result)
        worker.errored.connect(self._failed)
        worker.finished.connect(lambda: self.analyse_button.setEnabled(True))
        self._worker = worker
        worker.start()

    def _displayed(self, layer: Image) -> np.ndarray:
        data = layer.data[0] if layer.multiscale else layer.data
        if layer.rgb or data.ndim == 2:
            return np.asarray(data)
        step = self.viewer.dims.current_step[-data.ndim : -2]
        return np.asarray(data[tuple(step)])

    def _stage_done(self, stage: str) -> None:
        self.progress.setValue(ANALYSIS_STAGES.index(stage) + 1)
        self._say(f"{stage}: done")

    def _failed(self, exc: Exception) -> None:
        self._say(f"Analysis failed: {exc}", error=True)

    def _show_result(self, result: AnalysisResult) -> None:
        self.analysed = self.result = result
        image = self.image_layer()
        scale = tuple(image.scale[-2:]) if image is not None else (result.micrograph.pixel_size_nm,) * 2
        translate = tuple(image.translate[-2:]) if image is not None else (0.0, 0.0)
        if result.settings.roi is not None:  # the analysed window's place in the image
            top, left = result.settings.roi[:2]
            translate = (translate[0] + top * scale[0], translate[1] + left * scale[1])
        units = tuple(image.units[-2:]) if image is not None else ("nm", "nm")
        common = {"scale": scale, "translate": translate, "units": units}
        name = result.micrograph.name
        self.particles_layer = self._replace_layer(
            f"{name} particles", "add_labels", result.labels.copy(), opacity=0.55, **common
        )
        self._label_colormap = self.particles_layer.colormap
        self.particles_layer.events.selected_label.connect(self._label_selected)
        excluded = [region for region, _ in result.separation.excluded_regions]
        self.excluded_layer = self._replace_layer(
            f"{name} excluded",
            "add_labels",
            paint_labels(excluded, result.labels.shape),
            opacity=0.6,
            features=pd.DataFrame(
                {
                    "index": np.arange(1, len(excluded) + 1),
                    "reason": [reason for _, reason in result.separation.excluded_regions],
                }
            ),
            colormap=DirectLabelColormap(color_dict={None: EXCLUDED_COLOUR, 0: (0, 0, 0, 0)}),
            **common,
        )
        self.lines_layer = self._replace_layer(
            f"{name} cut lines", "add_shapes", None, ndim=2, edge_color="yellow", edge_width=2, **common
        )
        _scale_bar(self.viewer).visible = True
        self.viewer.layers.selection.active = self.particles_layer
        self._show_table()
        self._enable_corrections(True)
        self._say(self._counts())

    def _replace_layer(self, name: str, add: str, data, **kwargs):
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        return getattr(self.viewer, add)(data, name=name, **kwargs)

    # --- corrections -----------------------------------------------------------------------
    def split_along_lines(self) -> int:
        """Cut the particles crossed by every line of the cut-lines layer, then re-measure;
        returns how many new pieces were made."""
        if self.lines_layer is None or not len(self.lines_layer.data):
            self._say("Draw a line across a particle in the cut-lines layer first.", error=True)
            return 0
        labels = np.asarray(self.particles_layer.data)
        made = 0
        for vertices in self.lines_layer.data:
            labels, new = split_along_line(labels, np.asarray(vertices)[:, -2:])
            made += len(new)
        self.lines_layer.data = []
        self.particles_layer.data = labels
        self.remeasure()
        return made

    def remeasure(self) -> None:
        """Measure the particles layer again as it is now (deleted, merged, painted, split)."""
        if self.result is None:
            return
        self.result = remeasure(self.result, np.asarray(self.particles_layer.data))
        self._show_table()
        self._say(self._counts())

    def export(self, folder: str | Path, overwrite: bool = False) -> dict:
        """Write this image's results as ``nanosizer analyze`` does, edits re-measured first."""
        if self.result is None:
            raise RuntimeError("nothing to export: analyse an image first")
        if not np.array_equal(np.asarray(self.particles_layer.data), self.result.labels):
            self.remeasure()
        edits = describe_edits(self.analysed.labels, self.result.labels)
        summary = write_edited_results(self.result, folder, edits, overwrite=overwrite)
        self._say(f"Exported {summary['count']} particle(s) to {folder}")
        return summary

    def _ask_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export results to folder")
        if not folder:
            return
        overwrite = False
        if any(Path(folder).iterdir()):
            question = f"{folder} is not empty. Replace its results?"
            answer = QMessageBox.question(self, "Replace results?", question)
            if answer != QMessageBox.Yes:
                return
            overwrite = True
        try:
            self.export(folder, overwrite=overwrite)
        except OSError as exc:
            self._say(str(exc), error=True)

    # --- table, colours, histogram ---------------------------------------------------------
    def _show_table(self) -> None:
        table = self.result.particles
        if "edited" not in table:
            table = table.assign(edited=False)
        self.particles_layer.features = table.assign(index=table["particle_id"])
        self._syncing = True
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(table))
        for col, name in enumerate(TABLE_COLUMNS):
            for row, value in enumerate(table[name].tolist()):
                self.table.setItem(row, col, _item(value))
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        self._syncing = False
        self._draw_histogram(table["equivalent_diameter_nm"].to_numpy())
        self.colour_by(self.colour_box.currentText())

    def table_ids(self) -> list[int]:
        """Particle ids in the table's current row order."""
        return [int(self.table.item(row, 0).data(ROLE)) for row in range(self.table.rowCount())]

    def colour_by(self, measure: str) -> None:
        """Colour the particles by a measure (viridis from its smallest to its largest value)."""
        if self.particles_layer is None or self.result is None:
            return
        if measure == LABEL_COLOURS or measure not in self.result.particles:
            self.particles_layer.colormap = self._label_colormap
            return
        table = self.result.particles
        values = table[measure].to_numpy(dtype=float)
        low, high = (np.nanmin(values), np.nanmax(values)) if values.size else (0.0, 1.0)
        scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
        colours = colormaps["viridis"](scaled)
        mapping = dict(zip(table["particle_id"].tolist(), colours.tolist(), strict=True))
        self.particles_layer.colormap = DirectLabelColormap(
            color_dict={None: (0.5, 0.5, 0.5, 1.0), 0: (0, 0, 0, 0), **mapping}
        )

    def _draw_histogram(self, ecd_nm: np.ndarray) -> None:
        self.figure.clear()
        axes = self.figure.add_subplot()
        if ecd_nm.size:
            axes.hist(ecd_nm, bins=min(30, max(5, ecd_nm.size // 5)), color="#3b75af")
        axes.set_xlabel("equivalent circular diameter (nm)")
        axes.set_ylabel("particles")
        self.histogram.draw_idle()

    def _table_selected(self) -> None:
        if self._syncing or self.particles_layer is None:
            return
        rows = self.selected_rows()
        if not rows:
            return
        particle = self.table_ids()[rows[0]]
        self._syncing = True
        self.particles_layer.selected_label = particle
        self._syncing = False

    def _label_selected(self, event=None) -> None:
        if self._syncing:
            return
        ids = self.table_ids()
        if self.particles_layer.selected_label not in ids:
            return
        row = ids.index(self.particles_layer.selected_label)
        self._syncing = True
        self.table.selectRow(row)
        self.table.scrollToItem(self.table.item(row, 0))
        self._syncing = False

    def selected_rows(self) -> list[int]:
        """Rows selected in the table, top first."""
        return sorted({index.row() for index in self.table.selectedIndexes()})

    # --- status ----------------------------------------------------------------------------
    def _counts(self) -> str:
        table = self.result.particles
        edited = int(table["edited"].sum()) if "edited" in table else 0
        excluded = len(self.result.separation.excluded_regions)
        text = f"{len(table)} particle(s), {excluded} region(s) excluded"
        text += f", {edited} edited" if edited else ""
        quality = self.result.quality
        if quality is not None and quality.verdict != "ok":  # say it where the user looks
            text = f"{quality.text}. {text}"
        return text

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #e0533d;" if error else "")

    def _enable_corrections(self, enabled: bool) -> None:
        for button in (self.split_button, self.remeasure_button, self.export_button):
            button.setEnabled(enabled)


def _scale_bar(viewer):
    """The viewer's scale bar (``viewer.canvas.overlays`` from napari 0.9, ``viewer.scale_bar`` before)."""
    overlays = getattr(getattr(viewer, "canvas", None), "overlays", None)
    return getattr(overlays, "scale_bar", None) or viewer.scale_bar


class _Item(QTableWidgetItem):
    """A table cell that sorts by its value, not its text."""

    def __lt__(self, other):
        return self.data(ROLE) < other.data(ROLE)


def _item(value) -> QTableWidgetItem:
    if isinstance(value, (bool, np.bool_)):
        text = "yes" if value else ""
    elif isinstance(value, (int, np.integer)):
        text = str(value)
    else:
        text = f"{value:.4g}"
    item = _Item(text)
    item.setData(ROLE, value if not isinstance(value, np.generic) else value.item())
    return item
