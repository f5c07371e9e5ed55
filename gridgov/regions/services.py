"""Writes to the region tree."""

import time
import uuid
from dataclasses import dataclass, field

import shapely
from django.db import transaction
from django.db.models import Q

from gridgov.accounts.policy import get_scope, require
from gridgov.core.audit import audit_record

from . import importer, locator
from .geometry import derived_fields
from .importer import Existing, Problem, RegionImportInvalid
from .models import Region

SYSTEM_ACTOR = "system"
_CHUNK = 500  # codes per IN (...) list: well inside every database's parameter limit
# Parent, uniqueness and the level range were checked in bulk (the level comes from the code);
# full_clean would ask the database again for every row, which doubles the time of a big import.
_CLEAN = {"exclude": ["parent"], "validate_unique": False, "validate_constraints": False}


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do). Codes in tree order."""

    dry_run: bool
    batch: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return {"created": len(self.created), "updated": len(self.updated), "unchanged": len(self.unchanged)}


def _existing(features: list[importer.Feature]) -> dict[str, Existing]:
    """Snapshots of the nodes `importer.validate` needs, read in chunks."""
    by_code, children_of = importer.codes_to_load(features)
    rows: dict[str, tuple] = {}
    fields = ("code", "name", "kind", "geom_wkb")
    for key, wanted in (("code__in", sorted(by_code)), ("parent_id__in", sorted(children_of))):
        for start in range(0, len(wanted), _CHUNK):
            for row in Region.objects.filter(Q(**{key: wanted[start:start + _CHUNK]})).values_list(*fields):
                rows[row[0]] = row
    ordered = sorted(rows.values())
    geoms = shapely.from_wkb([bytes(r[3]) if r[3] is not None else None for r in ordered]) if ordered else []
    return {r[0]: Existing(r[0], r[1], r[2], g) for r, g in zip(ordered, geoms, strict=True)}


def _geometry_summary(geom) -> dict | None:
    if geom is None:
        return None
    fields = derived_fields(geom)
    return {"area_km2": fields["area_km2"], "bbox": [round(v, 7) for v in geom.bounds]}


def _common_ancestor(codes_: list[str]) -> str:
    """The lowest node above or at every code: the audit summary's region."""
    from . import codes

    chains = [codes.ancestor_codes(c) for c in codes_]
    common = ""
    for candidates in zip(*chains, strict=False):
        if len(set(candidates)) != 1:
            break
        common = candidates[0]
    return common


def regions_import(*, acting_user, features, dry_run: bool = False, crs: str = "wgs84",
                   source: str = "", progress: importer.Progress = None) -> ImportResult:
    """Create or update region nodes and their boundaries from GeoJSON features.

    Guarantees: every feature is checked (code, parent, name, geometry validity, containment in
    the parent, no overlap with siblings) before anything is written, and any problem refuses
    the whole import with RegionImportInvalid listing all problems; otherwise all rows, one
    "region.import" audit row per created or updated node and one summary row are written in one
    transaction, and the point locator is rebuilt after commit. Nodes absent from the file are
    left as they are; nothing is deleted.

    `acting_user` needs the `regions.import` permission and every code inside their scope;
    None means the system itself (the management command), which may import anything.
    `dry_run` validates and counts but writes nothing. `crs="gcj02"` converts coordinates
    drawn on a Chinese map to WGS84 first.
    """
    started = time.perf_counter()
    if acting_user is not None:
        require(acting_user, "regions.import")
    batch = uuid.uuid4().hex[:12]
    if dry_run:
        result = _validate_and_plan(acting_user, features, crs, progress, batch, source, dry_run=True)
    else:
        with transaction.atomic():
            result = _validate_and_plan(acting_user, features, crs, progress, batch, source, dry_run=False)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _validate_and_plan(acting_user, features, crs, progress, batch, source, *, dry_run) -> ImportResult:
    parsed, problems = importer.parse_features(features, crs=crs, progress=progress)
    if acting_user is not None:
        scope = get_scope(acting_user)
        problems += [Problem("不在您的管辖范围内", f.index, f.code) for f in parsed if not scope.covers(f.code)]
    if progress:
        progress("读取数据库中的相关区划…")
    existing = _existing(parsed)
    problems += importer.validate(parsed, existing, progress=progress)
    if problems:
        raise RegionImportInvalid(problems)
    changes = importer.plan(parsed, existing)
    result = ImportResult(dry_run=dry_run, batch=batch)
    for change in changes:
        {"create": result.created, "update": result.updated, "unchanged": result.unchanged}[change.action].append(
            change.feature.code
        )
    if not dry_run:
        _write(acting_user, changes, existing, result, source, progress)
    return result


def _write(acting_user, changes, existing, result: ImportResult, source: str, progress) -> None:
    username = "" if acting_user is not None else SYSTEM_ACTOR
    written = 0
    for change in changes:
        if change.action == "unchanged":
            continue
        f = change.feature
        old = existing.get(f.code)
        geometry = derived_fields(f.geom)
        if change.action == "create":
            region = Region(code=f.code, name=f.name, kind=f.kind, level=f.level, parent_id=f.parent_code,
                            **geometry)
            region.full_clean(**_CLEAN)
            region.save(force_insert=True)
            diff = {"name": [None, f.name], "kind": [None, f.kind], "geometry": [None, _geometry_summary(f.geom)]}
        else:
            region = Region(code=f.code, name=old.name, kind=old.kind, level=f.level, parent_id=f.parent_code)
            update_fields = ["updated_at"]
            diff = {}
            if "name" in change.fields:
                diff["name"] = [old.name, f.name]
                region.name = f.name
                update_fields.append("name")
            if "kind" in change.fields:
                diff["kind"] = [old.kind, f.kind]
                region.kind = f.kind
                update_fields.append("kind")
            if "geometry" in change.fields:
                diff["geometry"] = [_geometry_summary(old.geom), _geometry_summary(f.geom)]
                for name, value in geometry.items():
                    setattr(region, name, value)
                update_fields += list(geometry)
            region.full_clean(**_CLEAN)
            region.save(update_fields=update_fields)
        audit_record(
            actor=acting_user, username=username, action="region.import", obj=region,
            changes={**diff, "batch": result.batch},
            message=("新建" if change.action == "create" else "更新") + (f"（{source}）" if source else ""),
        )
        written += 1
        if progress and written % importer.PROGRESS_EVERY == 0:
            progress(f"已写入 {written} 个区划")
    all_codes = [c.feature.code for c in changes]
    audit_record(
        actor=acting_user, username=username, action="region.import",
        object_type="regions.import", object_id=result.batch, region_code=_common_ancestor(all_codes),
        changes={**result.counts, "features": len(changes), "source": source},
        message=f"导入区划边界：新建 {len(result.created)}，更新 {len(result.updated)}，"
                f"未变 {len(result.unchanged)}",
    )
    if result.created or result.updated:
        locator.invalidate()
        transaction.on_commit(locator.invalidate)
