"""Helpers for the component tests (no tests here): places inside seeded grids, workbooks, GeoJSON."""

import io
import json

import shapely
import xlsxwriter

from gridgov.regions.models import Region

HUJI = "420881103"  # 胡集镇
SHIPAI = "420881108"
HEADERS = ["部件编码", "部件类别", "名称", "经度", "纬度", "权属部门", "状态", "设置日期", "备注"]
OUTSIDE = (100.0, 30.0)  # far from 钟祥市


def grid_in(town: str, nth: int = 0) -> Region:
    return Region.objects.filter(level=4, code__startswith=town).order_by("code")[nth]


def point_in(grid: Region, shift: int = 0) -> tuple[float, float]:
    """A point well inside the grid (its representative point), moved by `shift` × 1e-5° when the grid
    still contains the moved point, so a test can place several distinct components in one grid."""
    geom = grid.geometry
    p = geom.representative_point()
    for k in (shift, 0):
        candidate = shapely.Point(round(p.x + k * 1e-5, 7), round(p.y, 7))
        if geom.buffer(-1e-5).contains(candidate):
            return candidate.x, candidate.y
    return round(p.x, 7), round(p.y, 7)


def workbook(rows: list[list], headers: list[str] | None = None, *, title_row: str | None = None) -> bytes:
    """An .xlsx (with a shared-strings table, as Excel and WPS save them)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("部件")
    r = 0
    if title_row:
        sheet.write(0, 0, title_row)
        r = 1
    for c, h in enumerate(headers or HEADERS):
        sheet.write(r, c, h)
    for i, row in enumerate(rows, start=r + 1):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(i, c, value)
    book.close()
    return out.getvalue()


def feature_collection(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def point_feature(lon, lat, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}
