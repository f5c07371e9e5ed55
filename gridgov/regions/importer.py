"""Parsing and validating a GeoJSON file of region boundaries: pure functions, no database.

`regions_import` (services.py) reads the file with `load_feature_collection`, checks each
feature on its own with `parse_features`, loads what the database knows about the nodes
concerned as `Existing` snapshots, then checks the features against each other and against
those snapshots with `validate`. Every problem found is collected, so the person fixing the
file sees all of them at once; nothing is written unless there are none.

Tolerances (degrees, WGS84): a child may stick out of its parent by `CONTAINMENT_TOLERANCE`
(about a centimetre, enough for shared edges that differ in the last bits), and two siblings
may share up to `OVERLAP_TOLERANCE` square degrees (about one square metre).
"""

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import shapely.geometry

from gridgov.core.errors import ValidationFailed

from . import codes
from .choices import RegionKind, RegionLevel
from .gcj02 import gcj02_to_wgs84
from .geometry import area_km2

CONTAINMENT_TOLERANCE = 1e-7  # degrees
OVERLAP_TOLERANCE = 1e-10  # square degrees
PROGRESS_EVERY = 1000
NAME_MAX_LENGTH = 100
CRS_CHOICES = ("wgs84", "gcj02")

Progress = Callable[[str], None] | None

# GEOS's reasons for an invalid geometry, in words a data clerk can act on.
_REASONS = {
    "Self-intersection": "边界线自相交",
    "Ring Self-intersection": "环自相交",
    "Too few points": "点数太少",
    "Hole lies outside shell": "内环在外环之外",
    "Interior is disconnected": "内部不连通",
    "Nested shells": "多个面相互嵌套",
    "Nested holes": "内环相互嵌套",
    "Duplicate Rings": "环重复",
    "Invalid Coordinate": "坐标无效",
    "Ring is not closed": "环未闭合",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file. `index` is the 0-based position in `features`."""

    message: str
    index: int | None = None
    code: str | None = None

    def __str__(self) -> str:
        if self.index is None:
            return self.message
        where = f"第 {self.index + 1} 个要素"
        if self.code:
            where += f"（{self.code}）"
        return f"{where}：{self.message}"


class RegionImportInvalid(ValidationFailed):
    """The file was refused; `problems` lists every reason, in file order."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.index is not None, p.index or 0))
        super().__init__(
            f"导入文件有 {len(self.problems)} 处问题，未写入任何数据",
            extra={"problems": [str(p) for p in self.problems]},
            code="region_import_invalid",
        )

    def __str__(self) -> str:
        return self.message + "：\n" + "\n".join(f"  - {p}" for p in self.problems)


@dataclass
class Feature:
    """One feature that passed the checks it can pass on its own (geom is None otherwise)."""

    index: int
    code: str
    level: int
    kind: str
    parent_code: str | None
    name: str | None
    geom: Any | None


@dataclass(frozen=True)
class Existing:
    """What the database holds for one node."""

    code: str
    name: str
    kind: str
    geom: Any | None


@dataclass(frozen=True)
class Change:
    """What importing one feature does: action is "create", "update" or "unchanged"."""

    feature: Feature
    action: str
    fields: tuple[str, ...]  # the fields that change: name, kind, geometry


def kind_label(kind: str) -> str:
    try:
        return str(RegionKind(kind).label)
    except ValueError:
        return "区划"


# --- reading the file ---------------------------------------------------------------------------


def load_feature_collection(raw: bytes | str) -> list:
    """The `features` list of a GeoJSON FeatureCollection; RegionImportInvalid otherwise."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RegionImportInvalid([Problem(f"文件不是 UTF-8 编码（第 {exc.start + 1} 个字节）")]) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RegionImportInvalid(
            [Problem(f"文件不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}")]
        ) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        found = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise RegionImportInvalid([Problem(f"文件不是 GeoJSON FeatureCollection（type 为 {found!r}）")])
    features = data.get("features")
    if not isinstance(features, list):
        raise RegionImportInvalid([Problem("FeatureCollection 缺少 features 数组")])
    return features


# --- checks of one feature on its own -----------------------------------------------------------


def _parse_code(props: dict) -> tuple[str | None, str | None]:
    """(code, problem message)."""
    raw = props.get("code")
    if raw is None or raw == "":
        return None, "缺少区划代码（properties.code）"
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None, f"区划代码应为数字字符串，而不是 {type(raw).__name__}"
    code = raw.strip()
    try:
        # kind_of checks a code's last segment; the segments above it must be in range too.
        for ancestor in reversed(codes.ancestor_codes(code)):
            codes.kind_of(ancestor)
    except codes.CodeError as exc:
        return code, str(exc)
    return code, None


def _parse_geometry(raw: Any, crs: str) -> tuple[Any | None, str | None]:
    """(WGS84 2-D geometry, problem message)."""
    if raw is None:
        return None, "缺少边界（geometry 为空）"
    if not isinstance(raw, dict):
        return None, "边界（geometry）应为 GeoJSON 几何对象"
    gtype = raw.get("type")
    if gtype not in ("Polygon", "MultiPolygon"):
        return None, f"边界类型应为 Polygon 或 MultiPolygon，而不是 {gtype}"
    coords = raw.get("coordinates")
    if not isinstance(coords, list | tuple):
        return None, "边界缺少坐标（coordinates）"
    try:
        geom = shapely.geometry.shape({"type": gtype, "coordinates": coords})
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, shapely.errors.ShapelyError) as exc:
        return None, f"边界坐标格式错误：{exc}"
    if geom.is_empty:
        return None, "边界为空"
    geom = shapely.force_2d(geom)
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all():
        return None, "边界含有非数值坐标"
    lon, lat = xy[:, 0], xy[:, 1]
    bad = (lon < -180) | (lon > 180) | (lat < -90) | (lat > 90)
    if bad.any():
        x, y = xy[np.argmax(bad)]
        return None, (
            f"坐标 [{x:g}, {y:g}] 超出 WGS84 范围（经度 -180～180，纬度 -90～90），"
            "请检查经纬度是否写反、是否为投影坐标"
        )
    if crs == "gcj02":
        geom = shapely.transform(geom, lambda pts: np.column_stack(gcj02_to_wgs84(pts[:, 0], pts[:, 1])))
    if not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        head = reason.split("[", 1)[0]
        return None, f"边界无效：{_REASONS.get(head, '几何无效')}（{reason}）"
    if geom.area <= 0:
        return None, "边界面积为零"
    return geom, None


def parse_features(features: Any, *, crs: str = "wgs84", progress: Progress = None
                   ) -> tuple[list[Feature], list[Problem]]:
    """Check each feature on its own: structure, code, name, kind, geometry; and duplicate codes.

    Every feature with a usable code comes back (with geom None when its geometry is unusable),
    so the cross checks can still report on it.
    """
    if crs not in CRS_CHOICES:
        raise ValueError(f"unknown crs {crs!r}")
    if not isinstance(features, list):
        return [], [Problem("features 应为要素数组")]
    if not features:
        return [], [Problem("文件中没有任何要素")]
    parsed: list[Feature] = []
    problems: list[Problem] = []
    first_index: dict[str, int] = {}
    total = len(features)
    for index, raw in enumerate(features):
        if progress and index and index % PROGRESS_EVERY == 0:
            progress(f"已检查 {index}/{total} 个要素")
        if not isinstance(raw, dict) or raw.get("type") != "Feature":
            problems.append(Problem("不是 GeoJSON Feature 对象", index))
            continue
        props = raw.get("properties")
        if not isinstance(props, dict):
            problems.append(Problem("缺少属性（properties）", index))
            continue
        code, message = _parse_code(props)
        if message:
            problems.append(Problem(message, index, code))
            continue
        if code in first_index:
            problems.append(Problem(f"区划代码与第 {first_index[code] + 1} 个要素重复", index, code))
            continue
        first_index[code] = index
        level = codes.level_of(code)
        kind = codes.kind_of(code)
        given_kind = props.get("kind")
        if given_kind not in (None, "") and given_kind != kind:
            problems.append(Problem(
                f"类型 {given_kind!r} 与区划代码不符：按代码应为 {kind}（{kind_label(kind)}）", index, code))
        name = props.get("name")
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                problems.append(Problem("名称（properties.name）应为非空文字", index, code))
                name = None
            elif len(name.strip()) > NAME_MAX_LENGTH:
                problems.append(Problem(f"名称超过 {NAME_MAX_LENGTH} 个字", index, code))
                name = None
            else:
                name = name.strip()
        geom, message = _parse_geometry(raw.get("geometry"), crs)
        if message:
            problems.append(Problem(message, index, code))
        parsed.append(Feature(index, code, level, kind, codes.parent_code(code), name, geom))
    if progress and total >= PROGRESS_EVERY:
        progress(f"已检查 {total}/{total} 个要素")
    return parsed, problems


# --- what the database must tell us --------------------------------------------------------------


def codes_to_load(features: list[Feature]) -> tuple[set[str], set[str]]:
    """(nodes to load by code, nodes whose children to load) for `validate` and `plan`.

    The features themselves (to tell new from existing), their parents (containment), the
    parents' other children (sibling overlap) and the features' own children (which must stay
    inside a moved boundary).
    """
    own = {f.code for f in features}
    parents = {f.parent_code for f in features if f.parent_code}
    return own | parents, parents | {f.code for f in features if f.level < RegionLevel.GRID}


# --- checks across features and against the database ----------------------------------------------


def validate(features: list[Feature], existing: Mapping[str, Existing], *, progress: Progress = None
             ) -> list[Problem]:
    """Problems between features and against the database snapshot `existing`.

    `existing` must hold every node `codes_to_load` asks for that exists.
    """
    by_code = {f.code: f for f in features}
    problems: list[Problem] = []

    for f in features:
        parent = f.parent_code
        if parent and parent not in by_code and parent not in existing:
            problems.append(Problem(f"上级区划 {parent} 既不在数据库中，也不在本文件中", f.index, f.code))
        if f.code not in existing and f.name is None:
            problems.append(Problem("新建区划必须填写名称（properties.name）", f.index, f.code))

    if progress:
        progress("检查上下级包含关系…")
    problems += _containment_problems(features, by_code, existing)
    if progress:
        progress("检查同级重叠…")
    problems += _overlap_problems(features, by_code, existing)
    return problems


def _parent_geometry(code: str, by_code: Mapping[str, Feature], existing: Mapping[str, Existing]):
    if code in by_code:
        return by_code[code].geom  # None when the new boundary is unusable: already reported
    node = existing.get(code)
    return node.geom if node else None


def _name_of(code: str, by_code: Mapping[str, Feature], existing: Mapping[str, Existing]) -> str:
    f = by_code.get(code)
    if f is not None and f.name:
        return f.name
    node = existing.get(code)
    return node.name if node else code


def _area_text(geom) -> str:
    km2 = area_km2(geom)
    return f"{km2:,.2f} 平方公里" if km2 >= 1 else f"{km2 * 1e6:,.0f} 平方米"


def _containment_problems(features, by_code, existing) -> list[Problem]:
    """Each feature inside its parent; each existing child left out of the file inside its moved parent."""
    buffered: dict[str, Any] = {}

    def envelope(code: str, geom):
        if code not in buffered:
            buffered[code] = shapely.buffer(geom, CONTAINMENT_TOLERANCE)
            shapely.prepare(buffered[code])
        return buffered[code]

    # (container code, container geom, child geom, feature reporting it, child code, child is the feature)
    pairs = []
    for f in features:
        if f.geom is not None and f.parent_code:
            parent_geom = _parent_geometry(f.parent_code, by_code, existing)
            if parent_geom is not None:
                pairs.append((f.parent_code, parent_geom, f.geom, f, f.code, True))
    children_by_parent: dict[str, list[Existing]] = defaultdict(list)
    for node in existing.values():
        parent = codes.parent_code(node.code)
        if parent in by_code and node.code not in by_code and node.geom is not None:
            children_by_parent[parent].append(node)
    for parent, children in children_by_parent.items():
        f = by_code[parent]
        if f.geom is None:
            continue
        for child in children:
            pairs.append((f.code, f.geom, child.geom, f, child.code, False))
    if not pairs:
        return []

    containers = np.array([envelope(code, geom) for code, geom, *_ in pairs], dtype=object)
    children = np.array([child for _, _, child, *_ in pairs], dtype=object)
    inside = shapely.contains(containers, children)
    problems = []
    for (container, container_geom, child_geom, f, child_code, is_feature), ok in zip(pairs, inside, strict=True):
        if ok:
            continue
        outside = _area_text(shapely.difference(child_geom, container_geom))
        container_kind = kind_label(codes.kind_of(container))
        if is_feature:
            problems.append(Problem(
                f"{kind_label(f.kind)}不在上级{container_kind}“{_name_of(container, by_code, existing)}”"
                f"（{container}）的边界内，超出约 {outside}",
                f.index, f.code))
        else:
            node = existing[child_code]
            problems.append(Problem(
                f"现有下级{kind_label(node.kind)}“{node.name}”（{child_code}）不在新边界内，"
                f"超出约 {outside}；请在文件中一并提供它的新边界",
                f.index, f.code))
    return problems


def _overlap_problems(features, by_code, existing) -> list[Problem]:
    """Siblings must not overlap: new against new, and new against existing siblings not replaced.

    One STRtree over every sibling's final boundary finds the candidate pairs; the intersection
    areas are then computed for all of them in one vectorised call.
    """
    new = [f for f in features if f.geom is not None]
    if not new:
        return []
    groups = {f.parent_code for f in new}
    kept = [
        node for node in existing.values()
        if node.geom is not None and node.code not in by_code and codes.parent_code(node.code) in groups
    ]
    # Entries 0..len(new)-1 are the features, the rest existing siblings that stay as they are.
    entry_codes = [f.code for f in new] + [node.code for node in kept]
    entry_parents = np.array([f.parent_code or "" for f in new] + [codes.parent_code(n.code) for n in kept])
    geoms = np.array([f.geom for f in new] + [node.geom for node in kept], dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms[: len(new)], predicate="intersects")
    keep = (entry_parents[left] == entry_parents[right]) & (left != right)
    # A pair of two features is reported once, on the later one.
    keep &= (right >= len(new)) | (left > right)
    left, right = left[keep], right[keep]
    if not len(left):
        return []
    shared = shapely.intersection(geoms[left], geoms[right])
    areas = shapely.area(shared)
    problems = []
    for i, j, area, geom in zip(left, right, areas, shared, strict=True):
        if area <= OVERLAP_TOLERANCE:
            continue
        f = new[i]
        other = entry_codes[j]
        if j < len(new):
            whom = f"与第 {new[j].index + 1} 个要素“{_name_of(other, by_code, existing)}”（{other}）"
        else:
            whom = f"与现有{kind_label(existing[other].kind)}“{existing[other].name}”（{other}）"
        problems.append(Problem(f"{whom}重叠约 {_area_text(geom)}", f.index, f.code))
    return problems


# --- what importing changes ----------------------------------------------------------------------


def same_geometry(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=0.0))


def plan(features: list[Feature], existing: Mapping[str, Existing]) -> list[Change]:
    """One Change per feature, parents before children."""
    changes = []
    for f in sorted(features, key=lambda f: (f.level, f.code)):
        node = existing.get(f.code)
        if node is None:
            changes.append(Change(f, "create", ("name", "kind", "geometry")))
            continue
        fields = []
        if f.name is not None and f.name != node.name:
            fields.append("name")
        if f.kind != node.kind:
            fields.append("kind")
        if not same_geometry(f.geom, node.geom):
            fields.append("geometry")
        changes.append(Change(f, "update" if fields else "unchanged", tuple(fields)))
    return changes
