"""Particle outlines as GeoJSON polygons, in pixels and in nm, whole outlines included.

Where particles overlap, ``labels.tif`` can only show the visible partition; the outlines
file keeps each particle's whole outline (hidden parts included, as it was measured), so
other tools (QGIS, napari, shapely) can draw or re-measure them.
"""

from __future__ import annotations

import numpy as np
from skimage.measure import find_contours

from ..regions import Region


def outline_px(region: Region) -> np.ndarray:
    """(n, 2) closed outline (x, y) in image pixels (pixel centres at integers) along the
    pixel edges' midpoints: the longest iso-contour at 0.5 of the padded mask."""
    contours = find_contours(np.pad(region.mask, 1).astype(np.float32), 0.5)
    ring = max(contours, key=len) - 1.0
    return np.stack([ring[:, 1] + region.left, ring[:, 0] + region.top], axis=1)


def outlines_geojson(particles: list[Region], table, pixel_size_nm: float) -> dict:
    """A GeoJSON FeatureCollection: one polygon per particle in pixel coordinates (x right,
    y down), with ``particle_id``, ``hidden_fraction`` and the same ring in nm (``outline_nm``,
    pixel centres at (i + 0.5) · pixel size, as the table's centroids)."""
    features = []
    hidden = table["hidden_fraction"].to_numpy() if len(table) else []
    ids = table["particle_id"].tolist() if len(table) else []
    for k, region in enumerate(particles):
        ring = outline_px(region)
        nm = (ring + 0.5) * pixel_size_nm
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [np.round(ring, 2).tolist()]},
                "properties": {
                    "particle_id": int(ids[k]),
                    "hidden_fraction": float(hidden[k]),
                    "outline_nm": np.round(nm, 4).tolist(),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "properties": {"pixel_size_nm": pixel_size_nm, "coordinates": "image pixels (x right, y down)"},
        "features": features,
    }
