"""A Qt form generated from :class:`nanosizer.Settings`: one editor per field, with the field's
help text as tooltip and its choices and range as the editor's limits."""

from __future__ import annotations

import dataclasses

from qtpy.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLineEdit, QSpinBox, QWidget

from ..settings import Settings, make_settings, parse_assignments

LARGEST = 1e9


class SettingsForm(QWidget):
    """Editors for every analysis setting; :meth:`settings` reads them into a validated record."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QFormLayout(self)
        self.editors: dict[str, QWidget] = {}
        for spec in dataclasses.fields(Settings):
            editor = _editor(spec)
            editor.setToolTip(_tooltip(spec))
            editor.setObjectName(spec.name)
            self.editors[spec.name] = editor
            layout.addRow(spec.name.replace("_", " "), editor)

    def set_value(self, name: str, value) -> None:
        """Show ``value`` in the editor of setting ``name``."""
        editor = self.editors[name]
        if isinstance(editor, QComboBox):
            editor.setCurrentText(str(value))
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.setValue(value)
        else:
            editor.setText("" if value is None else _text(value))

    def values(self) -> dict:
        """The editors' values as keyword arguments of :class:`Settings` (text fields read as
        the CLI's ``--set`` reads them)."""
        out = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QComboBox):
                out[name] = editor.currentText()
            elif isinstance(editor, QCheckBox):
                out[name] = editor.isChecked()
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                out[name] = editor.value()
            else:
                text = editor.text().strip()
                out.update(parse_assignments([f"{name}={text or 'none'}"]))
        return out

    def settings(self) -> Settings:
        """The validated settings; raises ValueError naming a setting whose value is refused."""
        return make_settings(**self.values())


def _editor(spec: dataclasses.Field) -> QWidget:
    meta, default = spec.metadata, spec.default
    if meta.get("choices"):
        box = QComboBox()
        box.addItems(list(meta["choices"]))
        box.setCurrentText(default)
        return box
    if isinstance(default, bool):
        check = QCheckBox()
        check.setChecked(default)
        return check
    low = meta.get("low")
    high = meta.get("high")
    if isinstance(default, int):
        spin = QSpinBox()
        spin.setRange(int(low if low is not None else -LARGEST), int(high if high is not None else LARGEST))
        spin.setValue(default)
        return spin
    if isinstance(default, float) and spec.name != "network_zoom":
        spin = QDoubleSpinBox()
        spin.setDecimals(4)
        above = meta.get("above")
        bottom = low if low is not None else (above + 10**-4 if above is not None else -LARGEST)
        spin.setRange(bottom, high if high is not None else LARGEST)
        spin.setSingleStep(0.05 if (high is not None and high <= 1) else 1.0)
        spin.setValue(default)
        return spin
    line = QLineEdit("" if default is None else _text(default))
    line.setPlaceholderText(meta["kind"])
    return line


def _text(value) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


def _tooltip(spec: dataclasses.Field) -> str:
    meta = spec.metadata
    limits = []
    if meta.get("choices"):
        limits.append("one of " + ", ".join(meta["choices"]))
    if meta.get("low") is not None:
        limits.append(f">= {meta['low']:g}")
    if meta.get("above") is not None:
        limits.append(f"> {meta['above']:g}")
    if meta.get("high") is not None:
        limits.append(f"<= {meta['high']:g}")
    extra = f" ({'; '.join(limits)})" if limits else ""
    return f"{spec.name}: {meta['kind']}{extra}. {meta['help']} Default: {spec.default!r}."
