"""Survey derivations: buildings, heights and carriageway widths from surface and terrain grids.

Engine code: numpy/scipy/shapely arrays in, geometries and numbers out, no file I/O. The readers of
LAS/LAZ and GeoTIFF live in :mod:`metaliverpool.ingest.survey_raster` and
:mod:`metaliverpool.ingest.survey_points` (``docs/survey.md``).
"""
