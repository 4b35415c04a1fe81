"""What a separation left out, as ``summary.json`` lists it: the region's box, size and reason."""

from __future__ import annotations

from ..regions import Region


def excluded_entry(region: Region, reason: str) -> dict:
    """One entry of ``Separation.excluded``: bounding box and area in px, and why."""
    h, w = region.mask.shape
    return {
        "bbox_x": region.left,
        "bbox_y": region.top,
        "bbox_w": w,
        "bbox_h": h,
        "area_px": region.area_px,
        "reason": reason,
    }
