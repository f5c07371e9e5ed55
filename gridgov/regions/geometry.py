"""Derived geometry facts of a region: centroid, bounding box, area."""

import math

import shapely

KM_PER_DEG = 111.32  # length of one degree of latitude (and of longitude at the equator)


def area_km2(geom) -> float:
    """Area on a local equirectangular projection: within 0.1 % for a county-sized shape."""
    if geom is None or geom.is_empty:
        return 0.0
    lat = geom.centroid.y
    return geom.area * KM_PER_DEG * KM_PER_DEG * math.cos(math.radians(lat))


def derived_fields(geom) -> dict:
    if geom is None or geom.is_empty:
        return {
            "geom_wkb": None, "centroid_lon": None, "centroid_lat": None, "min_lon": None, "min_lat": None,
            "max_lon": None, "max_lat": None, "area_km2": None,
        }
    # The representative point always lies inside, unlike the centroid of a concave shape.
    centre = geom.centroid if geom.contains(geom.centroid) else geom.representative_point()
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    return {
        "geom_wkb": shapely.to_wkb(geom),
        "centroid_lon": round(centre.x, 7),
        "centroid_lat": round(centre.y, 7),
        "min_lon": min_lon, "min_lat": min_lat, "max_lon": max_lon, "max_lat": max_lat,
        "area_km2": round(area_km2(geom), 6),
    }


def to_geojson(geom) -> dict | None:
    if geom is None:
        return None
    return shapely.geometry.mapping(geom)
