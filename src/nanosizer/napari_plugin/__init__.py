"""nanosizer in napari: a reader for micrographs (pixel size as the layer scale, in nm), the
bundled examples as sample data, and a dock widget to analyse, correct, re-measure and export.

Only :mod:`.widget` needs Qt and napari (``pip install "nanosizer[napari]"``); the reader and
the samples return plain layer data, as npe2 expects.
"""
