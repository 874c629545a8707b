"""Coordinate reference systems, stated once: metric work in BNG, web maps in WGS84."""

from __future__ import annotations

BNG = "EPSG:27700"
"""British National Grid: every distance and area is computed in this CRS."""

WGS84 = "EPSG:4326"
"""Longitude/latitude: input coordinates and Folium output only."""

__all__ = ["BNG", "WGS84"]
