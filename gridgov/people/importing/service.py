"""Importing residents and households from Excel (`residents_import`).

What it guarantees:
- Every row is validated with the same rules as a form or the API (`clean_resident_data`,
  `identity_fields`), plus the rules across rows: the grid exists and lies in the importer's
  scope, an ID number appears only once in the file, a household has one head, and a person
  already registered outside the importer's scope is not touched.
- Rejected rows never block the good ones: each good row is written, each bad row is listed in
  the report with one reason per faulty field, and nothing of a bad row is written. A file is
  usually a village's or a town's whole register; holding back 9,990 good rows because of 10
  typos would make people split files by hand, and re-importing the corrected file is safe.
- Keyed on the ID number's blind index: a known person with identical data is left alone
  (no write, `updated_at` unchanged), with different data is updated. Households are keyed on
  (grid, 户号), addresses on (grid, 街路巷, 门牌号). Importing the same file twice changes
  nothing the second time.
- An empty optional cell keeps what the registry already has (clearing a value is done on the
  resident's page); a new person gets the model's defaults (汉族, 群众).
- Writes happen in batches of `batch_size` rows, each in its own transaction; a failure stops
  the run after the last committed batch, and running the file again completes it.
- One audit row per run (action ``people.import``) with the counts.
"""

import os
import sqlite3
import time
from array import array
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField
from django.utils import timezone

from gridgov.accounts.policy import get_scope, require
from gridgov.core import crypto
from gridgov.core.audit import audit_record
from gridgov.core.fields import EncryptedTextField
from gridgov.core.models import AuditOutcome
from gridgov.regions.models import Region

from ..choices import RelationToHead
from ..models import Address, CareTag, Household, Resident
from . import columns as cols
from .checking import (
    ID_AS_NUMBER,  # noqa: F401 - the tests and callers know it from here
    Faulty,
    Row,
    RowChecker,
)
from .reader import DataSheet, WorkbookError, open_workbook, prefetch
from .report import Rejection, ReportWriter
from .worker import CheckingProcess, WorkerConfig, crypto_settings, slices

# Rows per batch and transaction. Larger batches cost less per row (each commit writes every
# dirtied index page once, and the writer waits less for the planner) but hold SQLite's write
# lock longer: about half a second for 10,000 rows, which other writers wait out (busy timeout).
BATCH_SIZE = 10_000
QUERY_CHUNK = 500  # keys per IN (...) lookup, well below every database's parameter limit
SAMPLE_REJECTIONS = 100
# From this many rows (as the sheets' dimensions say) a second process may read and check the rows
# (worker.py): below it, starting that process (about a second) would cost more than it saves.
# It only pays when a second CPU is free: sharing one CPU with the importing process it was a
# quarter slower (docs/import-people.md), so by default it runs only when the load average
# leaves more than 1.5 CPUs idle.
PROCESS_MIN_ROWS = 100_000


def _cpus_free() -> float:
    try:
        return (os.cpu_count() or 1) - os.getloadavg()[0]
    except OSError:
        return 0.0

OUT_OF_SCOPE_PERSON = ("该公民身份号码已在您管辖范围以外的网格登记，不能由您导入或修改；"
                       "如该人员已迁入，请联系原网格或上级办理迁移")
DUPLICATE_LATE = "公民身份号码与本文件中前面的一行重复（两行都应核实，只保留正确的一行）"
FIELD_ORDER = [c.key for c in cols.COLUMNS]
FIELD_ORDER.insert(FIELD_ORDER.index("id_number") + 1, "id_duplicate")
FIELD_ORDER.insert(FIELD_ORDER.index("id_number") + 1, "gender")
FIELD_ORDER.insert(FIELD_ORDER.index("id_number") + 1, "birth_date")
_ORDER = {k: i for i, k in enumerate(FIELD_ORDER)}


class ImportScope:
    """Which grids an import may write to: the acting user's scope, or the whole county."""

    def __init__(self, user=None):
        self.user = user
        if user is None:
            self.prefixes = tuple(Region.objects.filter(level=1).values_list("code", flat=True))
        else:
            self.prefixes = get_scope(user).region_prefixes

    def covers(self, code: str) -> bool:
        return any(code.startswith(p) for p in self.prefixes)


@dataclass
class ImportCounts:
    read: int = 0  # data rows read (blank rows and the template's example row not counted)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0  # the template's example row
    households_created: int = 0
    households_updated: int = 0
    addresses_created: int = 0


@dataclass
class ImportResult:
    file_name: str
    dry_run: bool
    counts: ImportCounts
    sheets: list[str]
    seconds: float
    rejections: list[Rejection] = field(default_factory=list)  # the first SAMPLE_REJECTIONS
    report_path: str | None = None
    checking_peak_rss_mb: float = 0.0  # the checking process's peak memory (0: rows checked in-process)

    @property
    def rows_per_second(self) -> float:
        return self.counts.read / self.seconds if self.seconds else 0.0

    def summary(self) -> list[tuple[str, object]]:
        c = self.counts
        return [
            ("文件", self.file_name), ("工作表", "、".join(self.sheets)),
            ("模式", "仅校验（未写入）" if self.dry_run else "导入"),
            ("读取行数", c.read), ("新增人员", c.created), ("更新人员", c.updated), ("未变人员", c.unchanged),
            ("未导入（有错误）", c.rejected), ("跳过的示例行", c.skipped), ("新增户", c.households_created),
            ("更新户", c.households_updated), ("新增标准地址", c.addresses_created),
            ("用时（秒）", round(self.seconds, 1)),
        ]


class _Household:
    __slots__ = ("id", "number", "grid", "head", "address", "new", "used", "dirty")

    def __init__(self, id, grid, number, head, address, new):
        self.id, self.grid, self.number, self.head, self.address, self.new = id, grid, number, head, address, new
        self.used = False
        self.dirty = False


class _Address:
    __slots__ = ("id", "key", "new")

    def __init__(self, id, key, new):
        self.id, self.key, self.new = id, key, new


class _IdSet:
    """Resident ids touched by this run, as a sparse bitmap (1,000,000 ids take a few hundred KB)."""

    BLOCK = 1 << 20

    def __init__(self):
        self.blocks: dict[int, bytearray] = {}

    def add(self, n: int) -> None:
        block = self.blocks.get(n >> 20)
        if block is None:
            block = self.blocks[n >> 20] = bytearray(self.BLOCK >> 3)
        low = n & (self.BLOCK - 1)
        block[low >> 3] |= 1 << (low & 7)

    def __contains__(self, n: int) -> bool:
        block = self.blocks.get(n >> 20)
        if block is None:
            return False
        low = n & (self.BLOCK - 1)
        return bool(block[low >> 3] >> (low & 7) & 1)


def _chunks(items: list, size: int = QUERY_CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


class _Importer:
    def __init__(self, *, acting_user, dry_run: bool, batch_size: int, report: ReportWriter | None, progress,
                 today: date, path: str | None = None, process_min_rows: int | None = None):
        self.user = acting_user
        self.scope = ImportScope(acting_user)
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.report = report
        self.progress = progress
        self.today = today
        self.counts = ImportCounts()
        self.sample: list[Rejection] = []
        self.touched = _IdSet()
        self.checker = RowChecker(today=today, grids=set(Region.objects.filter(level=4).values_list("code", flat=True)),
                                  prefixes=self.scope.prefixes)
        self.path = path
        # An explicit process_min_rows (tests, the benchmark) decides alone; by default the free CPUs too.
        self.process_min_rows = process_min_rows
        self.sheet_names: dict[int, str] = {}
        self.checking_peak_rss_kb = 0  # of the checking process, if one ran
        self.dry_households: dict[tuple[str, str], _Household] = {}
        self.dry_addresses: set[tuple[str, str, str]] = set()
        self.pending_rejections: list[Rejection] = []
        self.multi_sheet = False
        self.writer: ThreadPoolExecutor | None = None
        self.pending: tuple | None = None
        self.templates = {"address": _Template(Address, ("region_id", "road", "house_number")),
                          "household": _Template(Household, ("region_id", "number")),
                          "resident": _Template(Resident, ("id_number_index",))}

    # --- rows -----------------------------------------------------------------------------

    def run(self, sheets: list[DataSheet]) -> None:
        threaded = not self.dry_run and not connection.in_atomic_block
        # The connection that writes gets the bigger cache (each holds its own: about 64 MB).
        previous = _tune_connection() if not threaded else {}
        if threaded:
            self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
            self.writer.submit(_tune_connection).result()
        try:
            self._run(sheets)
        finally:
            if self.writer is not None:
                if self.pending is not None:
                    self.pending[2].exception()  # a failed run: let the last write finish first
                self.writer.submit(_close_connection).result()
                self.writer.shutdown()
            if previous:
                _tune_connection(previous)

    def _run(self, sheets: list[DataSheet]) -> None:
        self.multi_sheet = len(sheets) > 1
        self.sheet_names = {s.index: s.name for s in sheets}
        plans = []
        for sheet in sheets:
            index = cols.map_headers(sheet.headers)
            missing = [cols.BY_KEY[k].header for k in cols.REQUIRED_KEYS if k not in index]
            if missing:
                raise WorkbookError(f"工作表“{sheet.name}”缺少必填列：{'、'.join(missing)}（请使用导入模板）")
            plans.append((sheet, [index.get(c.key, -1) for c in cols.COLUMNS]))
        total = sum(s.estimated_rows for s in sheets)
        child = None
        if self.process_min_rows is not None:
            use_child = total >= self.process_min_rows
        else:
            use_child = total >= PROCESS_MIN_ROWS and _cpus_free() > 1.5
        if self.path is not None and use_child:
            # Started first: it reads and checks while this process takes the duplicate census.
            child = CheckingProcess(WorkerConfig(
                path=self.path, sheets=[(sheet.index, positions) for sheet, positions in plans], today=self.today,
                grids=self.checker.grids, prefixes=self.checker.prefixes,
                settings_module=os.environ.get("DJANGO_SETTINGS_MODULE", "gridgov.settings"),
                crypto_settings=crypto_settings()))
        try:
            duplicates = self._census(plans)
            self._consume(child if child is not None else self._checked_here(plans), duplicates, total)
        finally:
            if child is not None:
                child.close()
                self.checking_peak_rss_kb = child.peak_rss_kb

    def _checked_here(self, plans):
        """(rows read, check results) per slice, checked in this process (small files)."""
        check = self.checker.check
        for sheet, positions in plans:
            index, name = sheet.index, sheet.name
            for rows in prefetch(slices(sheet)):
                results = []
                for number, cells in rows:
                    result = check(index, name, positions, number, cells)
                    if result is not None:
                        results.append(result)
                yield len(rows), results

    def _consume(self, chunks, duplicates, total: int) -> None:
        counts = self.counts
        processed = 0
        batch: list[Row] = []
        last_progress = 0.0
        for read, results in chunks:
            for item in results:
                kind = type(item)
                if kind is Row:
                    counts.read += 1
                    if duplicates and (item.sheet_index, item.row) in duplicates:
                        self._reject(item.sheet_index, item.row, item.name, item.id_text, {}, duplicates)
                        continue
                    batch.append(item)
                    if len(batch) >= self.batch_size:
                        self._flush(batch)
                        batch = []
                elif kind is Faulty:
                    counts.read += 1
                    self._reject(item.sheet_index, item.row, item.name, item.id_text, item.errors, duplicates)
                else:  # SKIPPED
                    counts.skipped += 1
            processed += read
            now = time.monotonic()
            if self.progress and now - last_progress >= 0.5:
                last_progress = now
                self.progress(processed, max(total, processed))
        if batch:
            self._flush(batch)
        self._finish_pending()
        self._emit_rejections()
        if self.progress:
            self.progress(processed, processed)

    def _census(self, plans) -> dict[tuple[int, int], list[tuple[str, int]]]:
        """Rows whose ID number occurs more than once in the file: {(sheet index, row): all its rows}.

        A pass over the ID column alone, before anything is written, so that every row of a
        duplicated number is rejected, not only the later ones.
        """
        hashes, rows, sheet_of = array("q"), array("l"), array("l")
        for sheet, positions in plans:
            column = positions[[c.key for c in cols.COLUMNS].index("id_number")]
            for row, token in sheet.id_tokens(column):
                hashes.append(hash(token))
                rows.append(row)
                sheet_of.append(sheet.index)
        if not hashes:
            return {}
        # Compact arrays and a sort instead of a dict of a million tuples (about 200 MB).
        keys = np.frombuffer(hashes, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        same = ordered[1:] == ordered[:-1]
        flagged = np.zeros(len(keys), dtype=bool)
        flagged[1:] |= same
        flagged[:-1] |= same
        names = {sheet.index: sheet.name for sheet, _ in plans}
        out: dict[tuple[int, int], list[tuple[str, int]]] = {}
        group: list[int] = []
        for position in np.flatnonzero(flagged).tolist():
            if group and ordered[position] != ordered[group[-1]]:
                self._add_group(out, group, order, rows, sheet_of, names)
                group = []
            group.append(position)
        if group:
            self._add_group(out, group, order, rows, sheet_of, names)
        return out

    @staticmethod
    def _add_group(out, group, order, rows, sheet_of, names) -> None:
        members = sorted((sheet_of[order[p]], rows[order[p]]) for p in group)
        where = [(names[index], row) for index, row in members]
        for member in members:
            out[member] = where

    def _location(self, sheet: str, row: int) -> str:
        return f"“{sheet}”第 {row} 行" if self.multi_sheet else f"第 {row} 行"

    def _reject(self, sheet_index: int, number: int, name: str, id_text: str, errors: dict[str, str],
                duplicates) -> None:
        group = duplicates.get((sheet_index, number)) if duplicates else None
        if group:
            where = "、".join(self._location(s, r) for s, r in group[:10]) + ("等" if len(group) > 10 else "")
            errors["id_duplicate"] = (f"公民身份号码在本文件中重复出现：{where}"
                                      "（这些行都不导入，请核实后只保留正确的一行）")
        reasons = [errors[k] for k in sorted(errors, key=lambda k: _ORDER.get(k, 99))]
        self.pending_rejections.append(Rejection(self.sheet_names[sheet_index], number, name, id_text, reasons,
                                                 sheet_index))

    def _emit_rejections(self, upto: tuple[int, int] | None = None) -> None:
        """Hands rejections to the report in row order (those after `upto` wait for their batch)."""
        pending = sorted(self.pending_rejections, key=lambda r: (r.sheet_index, r.row))
        if upto is not None:
            later = [r for r in pending if (r.sheet_index, r.row) > upto]
            pending = pending[:len(pending) - len(later)]
        else:
            later = []
        self.pending_rejections = later
        self.counts.rejected += len(pending)
        for rejection in pending:
            if len(self.sample) < SAMPLE_REJECTIONS:
                self.sample.append(rejection)
            if self.report is not None:
                self.report.add(rejection)

    # --- batches ----------------------------------------------------------------------------

    # A batch is planned on this thread (reads: who exists, which households and addresses) and
    # written by the writer (a second thread with its own connection, unless the caller holds a
    # transaction). SQLite and PostgreSQL do their part of the write without the GIL, so the
    # writing of one batch overlaps the validation of the next. The next batch is planned only
    # after the previous one has committed, so it sees everything written before it.

    def _flush(self, batch: list[Row]) -> None:
        self._finish_pending()
        plan = self._plan(batch)
        if not self.dry_run:
            self._prepare(plan)
        if self.dry_run:
            self._commit_dry(plan)
            self._apply(batch, plan)
        elif self.writer is None:
            plan = self._write_with_retry(batch, plan)
            self._apply(batch, plan)
        else:
            self.pending = (batch, plan, self.writer.submit(self._write_atomic, plan))

    def _finish_pending(self) -> None:
        if self.pending is None:
            return
        batch, plan, future = self.pending
        self.pending = None
        try:
            future.result()
        except IntegrityError:
            # Someone registered the same person or household meanwhile: look again, once.
            plan = self._plan(batch)
            self._prepare(plan)
            self.writer.submit(self._write_atomic, plan).result()
        self._apply(batch, plan)

    def _write_with_retry(self, batch: list[Row], plan: "_Plan") -> "_Plan":
        try:
            self._write_atomic(plan)
        except IntegrityError:
            plan = self._plan(batch)
            self._prepare(plan)
            self._write_atomic(plan)
        return plan

    def _write_atomic(self, plan: "_Plan") -> None:
        with transaction.atomic():
            self._write(plan)

    def _apply(self, batch: list[Row], plan: "_Plan") -> None:
        """Counts, the ids this run touched, and the rejections up to the batch's last row."""
        for resident_id in plan.touched:
            self.touched.add(resident_id)
        c = self.counts
        c.created += len(plan.creates)
        c.updated += len(plan.updates)
        c.unchanged += plan.unchanged
        c.households_created += sum(1 for h in plan.households.values() if h.new and h.used)
        c.households_updated += sum(1 for h in plan.households.values() if not h.new and h.dirty)
        c.addresses_created += sum(1 for a in plan.addresses.values() if a.new)
        self.pending_rejections.extend(plan.rejections)
        self._emit_rejections(upto=(batch[-1].sheet_index, batch[-1].row))

    def _plan(self, batch: list[Row]) -> "_Plan":
        plan = _Plan()
        existing = self._existing_residents([r.id_index for r in batch])
        households = self._existing_households({(r.grid, r.household) for r in batch if r.household})
        addresses = self._existing_addresses({(r.grid, r.road, r.house_number) for r in batch
                                              if r.road or r.house_number})
        plan.households, plan.addresses = households, addresses
        plan.household_by_id = {h.id: h for h in households.values() if h.id}
        seen: set[str] = set()
        for r in batch:
            e = existing.get(r.id_index)
            reason = None
            if r.id_index in seen:
                reason = DUPLICATE_LATE
            elif e is not None and not self.scope.covers(e[2]):
                reason = OUT_OF_SCOPE_PERSON
            elif e is not None and e[0] in self.touched:
                reason = DUPLICATE_LATE
            hh = None
            if reason is None and r.household:
                key = (r.grid, r.household)
                hh = households.get(key)
                if hh is None:
                    hh = households[key] = _Household(None, r.grid, r.household, None, None, True)
                me = e[0] if e is not None else r
                if r.relation == RelationToHead.HEAD and hh.head is not None and hh.head is not me \
                        and hh.head != me:
                    reason = f"户 {r.household} 已有户主，请先在户页面变更户主"
            if reason is not None:
                plan.rejections.append(Rejection(r.sheet, r.row, r.name, r.id_number, [reason], r.sheet_index))
                continue
            seen.add(r.id_index)
            addr = None
            if r.road or r.house_number:
                key = (r.grid, r.road, r.house_number)
                addr = addresses.get(key)
                if addr is None:
                    addr = addresses[key] = _Address(None, key, True)
            if hh is not None:
                hh.used = True
                if r.relation == RelationToHead.HEAD and hh.head is None:
                    hh.head = e[0] if e is not None else r
                    hh.dirty = True
                if hh.address is None and addr is not None:
                    hh.address = addr
                    hh.dirty = True
            if e is None:
                plan.creates.append((r, hh, addr))
            else:
                self._classify(plan, r, e, hh, addr)
        return plan

    def _classify(self, plan: "_Plan", r: Row, e: tuple, hh: "_Household | None", addr: "_Address | None") -> None:
        (pk, _index, region_id, name, gender, birth_date, ethnicity, phone_index, residency_status, political_status,
         household_id, relation, address_id, occupation) = e
        changes: dict[str, Any] = {}
        if region_id != r.grid:
            changes["region_id"] = r.grid
            plan.moves.setdefault(r.grid, []).append(pk)
        if name != r.name:
            changes["name"] = r.name
        if gender != r.gender:
            changes["gender"] = r.gender
        if birth_date != r.birth_date:
            changes["birth_date"] = r.birth_date
        if residency_status != r.residency_status:
            changes["residency_status"] = r.residency_status
        if r.ethnicity and ethnicity != r.ethnicity:
            changes["ethnicity"] = r.ethnicity
        if r.political_status and political_status != r.political_status:
            changes["political_status"] = r.political_status
        if r.occupation is not None and occupation != r.occupation:
            changes["occupation"] = r.occupation
        if r.phone is not None and phone_index != r.phone_index:
            changes["phone"] = r.phone
            changes["phone_index"] = r.phone_index
        if hh is not None and (hh.id is None or hh.id != household_id):
            changes["household"] = hh
        if r.relation and relation != r.relation:
            changes["relation_to_head"] = r.relation
        if addr is not None and (addr.id is None or addr.id != address_id):
            changes["address"] = addr
        if relation == RelationToHead.HEAD and household_id and (
                ("household" in changes) or ("relation_to_head" in changes)):
            plan.clear_heads.append((household_id, pk))
            old = plan.household_by_id.get(household_id)
            if old is not None and old.head == pk:
                old.head = None  # a later row of the batch may now become the head
        plan.touched.append(pk)
        if changes:
            plan.updates.append((pk, changes))
        else:
            plan.unchanged += 1

    def _existing_residents(self, indexes: list[str]) -> dict[str, tuple]:
        out: dict[str, tuple] = {}
        for chunk in _chunks(indexes):
            for e in Resident.objects.filter(id_number_index__in=chunk).values_list(
                    "id", "id_number_index", "region_id", "name", "gender", "birth_date", "ethnicity", "phone_index",
                    "residency_status", "political_status", "household_id", "relation_to_head", "address_id",
                    "occupation"):
                out[e[1]] = e
        return out

    def _existing_households(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], _Household]:
        out: dict[tuple[str, str], _Household] = {}
        ordered = sorted(keys)
        for chunk in _chunks(ordered):
            grids = {g for g, _ in chunk}
            numbers = {n for _, n in chunk}
            wanted = set(chunk)
            for pk, grid, number, head, address in Household.objects.filter(
                    region_id__in=grids, number__in=numbers).values_list("id", "region_id", "number", "head_id",
                                                                          "address_id"):
                if (grid, number) in wanted:
                    out[(grid, number)] = _Household(pk, grid, number, head, address and _Address(address, None, False),
                                                     False)
        if self.dry_run:
            for key in keys:
                if key not in out and key in self.dry_households:
                    known = self.dry_households[key]
                    out[key] = _Household(0, known.grid, known.number, known.head, known.address, False)
        return out

    def _existing_addresses(self, keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], _Address]:
        out: dict[tuple[str, str, str], _Address] = {}
        ordered = sorted(keys)
        wanted = set(ordered)
        grids = sorted({k[0] for k in ordered})
        # By grid only (a grid has a few hundred addresses): IN lists on all three columns make
        # the database probe every combination.
        for chunk in _chunks(grids):
            for pk, grid, road, house in Address.objects.filter(
                    region_id__in=chunk, building="", unit="", room="",
            ).order_by("id").values_list("id", "region_id", "road", "house_number"):
                key = (grid, road, house)
                if key in wanted and key not in out:
                    out[key] = _Address(pk, key, False)
        if self.dry_run:
            for key in keys:
                if key not in out and key in self.dry_addresses:
                    out[key] = _Address(0, key, False)
        return out

    def _commit_dry(self, plan: "_Plan") -> None:
        for key, hh in plan.households.items():
            if hh.used and (hh.new or hh.dirty):
                self.dry_households[key] = hh
        for key, addr in plan.addresses.items():
            if addr.new:
                self.dry_addresses.add(key)

    def _prepare(self, plan: "_Plan") -> None:
        """The new residents' rows, encrypted, built on the planning thread: the writer then has
        little but the database's own work to do (which runs without the GIL)."""
        if not plan.creates:
            return
        tpl = self.templates["resident"]
        blank = tpl.blank(timezone.now())
        pos = tpl.pos
        encrypt_id = crypto.encryptor(tpl.encrypted["id_number"])
        encrypt_phone = crypto.encryptor(tpl.encrypted["phone"])
        adapt_date = connection.ops.adapt_datefield_value
        (p_region, p_name, p_gender, p_birth, p_id, p_index, p_tail, p_phone, p_phone_index, p_residency,
         p_relation, p_occupation, p_ethnicity, p_political) = (
            pos[k] for k in ("region_id", "name", "gender", "birth_date", "id_number", "id_number_index", "id_tail",
                             "phone", "phone_index", "residency_status", "relation_to_head", "occupation",
                             "ethnicity", "political_status"))
        rows = plan.resident_rows = []
        for r, _hh, _addr in plan.creates:
            row = blank.copy()
            row[p_region] = r.grid
            row[p_name] = r.name
            row[p_gender] = r.gender
            row[p_birth] = adapt_date(r.birth_date)
            row[p_id] = r.id_sealed or encrypt_id(r.id_number)
            row[p_index] = r.id_index
            row[p_tail] = r.id_tail
            if r.phone:
                row[p_phone] = r.phone_sealed or encrypt_phone(r.phone)
                row[p_phone_index] = r.phone_index
            row[p_residency] = r.residency_status
            row[p_relation] = r.relation
            if r.occupation:
                row[p_occupation] = r.occupation
            if r.ethnicity:
                row[p_ethnicity] = r.ethnicity
            if r.political_status:
                row[p_political] = r.political_status
            rows.append(row)

    def _write(self, plan: "_Plan") -> None:
        now = timezone.now()
        t = self.templates
        new_addresses = [a for a in plan.addresses.values() if a.new]
        if new_addresses:
            tpl = t["address"]
            blank = tpl.blank(now)
            p_region, p_road, p_house = tpl.pos["region_id"], tpl.pos["road"], tpl.pos["house_number"]
            rows = []
            for a in new_addresses:
                row = blank.copy()
                row[p_region], row[p_road], row[p_house] = a.key
                rows.append(row)
            ids = tpl.insert(rows)
            for a in new_addresses:
                a.id = ids[a.key]
        new_households = [h for h in plan.households.values() if h.new and h.used]
        if new_households:
            tpl = t["household"]
            blank = tpl.blank(now)
            p_region, p_number, p_address = tpl.pos["region_id"], tpl.pos["number"], tpl.pos["address_id"]
            rows = []
            for h in new_households:
                row = blank.copy()
                row[p_region], row[p_number] = h.grid, h.number
                row[p_address] = h.address.id if h.address else None
                rows.append(row)
            ids = tpl.insert(rows)
            for h in new_households:
                h.id = ids[(h.grid, h.number)]
        if plan.creates:
            tpl = t["resident"]
            rows = plan.resident_rows
            p_household, p_address = tpl.pos["household_id"], tpl.pos["address_id"]
            for row, (_r, hh, addr) in zip(rows, plan.creates, strict=True):
                if hh is not None:
                    row[p_household] = hh.id
                if addr is not None:
                    row[p_address] = addr.id
            ids = tpl.insert(rows)
            for r, _hh, _addr in plan.creates:
                r.pk = ids[(r.id_index,)]
                plan.touched.append(r.pk)
        self._write_updates(plan, now)
        self._write_households(plan, now)
        for grid, ids in plan.moves.items():
            for chunk in _chunks(ids):
                CareTag.objects.filter(resident_id__in=chunk).update(region_id=grid)

    def _write_updates(self, plan: "_Plan", now: datetime) -> None:
        groups: dict[tuple[str, ...], list[Resident]] = {}
        for pk, changes in plan.updates:
            obj = Resident(pk=pk)
            fields = []
            for key, value in changes.items():
                if key == "household":
                    obj.household_id = value.id
                    fields.append("household")
                elif key == "address":
                    obj.address_id = value.id
                    fields.append("address")
                elif key == "region_id":
                    obj.region_id = value
                    fields.append("region")
                else:
                    setattr(obj, key, value)
                    fields.append(key)
            obj.updated_at = now
            fields.append("updated_at")
            groups.setdefault(tuple(fields), []).append(obj)
        for fields, objs in groups.items():
            Resident.objects.bulk_update(objs, list(fields), batch_size=500)

    def _write_households(self, plan: "_Plan", now: datetime) -> None:
        table = Household._meta.db_table
        qn = connection.ops.quote_name
        head_col = qn(Household._meta.get_field("head").column)
        addr_col = qn(Household._meta.get_field("address").column)
        upd_col = qn("updated_at")
        now = connection.ops.adapt_datetimefield_value(now)
        clears = [(now, household_id, pk) for household_id, pk in plan.clear_heads]
        sets = []
        for hh in plan.households.values():
            if not hh.used or not hh.dirty:
                continue
            head = hh.head
            head_id = head.pk if isinstance(head, Row) else head
            address_id = hh.address.id if hh.address else None
            sets.append((head_id, address_id, now, hh.id))
        with connection.cursor() as cursor:
            if clears:
                cursor.executemany(
                    f"UPDATE {qn(table)} SET {head_col} = NULL, {upd_col} = %s WHERE id = %s AND {head_col} = %s",
                    clears)
            if sets:
                cursor.executemany(
                    f"UPDATE {qn(table)} SET {head_col} = %s, {addr_col} = %s, {upd_col} = %s WHERE id = %s", sets)


# SQLite only, on the import's connections: a page cache big enough for the hot part of the
# indexes, and WAL checkpoints every 200 MB instead of 4 MB. Each batch dirties thousands of
# index pages spread over the resident table's ten indexes; every checkpoint copies them into
# the database and waits for the disk (fsync), so fewer checkpoints mean fewer waits and pages
# written once for several batches. Restored when the run ends.
SQLITE_PRAGMAS = {"cache_size": -131072, "wal_autocheckpoint": 50000}


def _tune_connection(values: dict[str, int] | None = None) -> dict[str, int]:
    if connection.vendor != "sqlite":
        return {}
    previous = {}
    with connection.cursor() as cursor:
        for name, value in (values if values is not None else SQLITE_PRAGMAS).items():
            cursor.execute(f"PRAGMA {name}")
            previous[name] = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA {name} = {int(value)}")
    return previous


def _close_connection() -> None:
    connection.close()  # the calling thread's own connection


class _Template:
    """A model's INSERT: its columns, and a row of defaults to copy and fill in by position."""

    def __init__(self, model, key: tuple[str, ...]):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.pos = {f.attname: i for i, f in enumerate(self.fields)}
        self.defaults = [f.get_default() for f in self.fields]
        self.stamps = [i for i, f in enumerate(self.fields)
                       if isinstance(f, DateTimeField) and (f.auto_now or f.auto_now_add)]
        self.encrypted = {f.attname: f.purpose for f in self.fields if isinstance(f, EncryptedTextField)}
        self.key = key

    def blank(self, now: datetime) -> list[Any]:
        row = list(self.defaults)
        stamp = connection.ops.adapt_datetimefield_value(now)
        for i in self.stamps:
            row[i] = stamp
        return row

    def insert(self, rows: list[list[Any]]) -> dict[tuple, int]:
        """Multi-row INSERTs of complete rows; {key values: new id}.

        Much faster than bulk_create for a million rows (no model instances, no per-field
        compiler work); the caller encrypts with the fields' purposes, exactly as
        EncryptedTextField.get_prep_value would. The ids are read back with RETURNING together
        with the key, so nothing depends on the order in which the database reports them.
        """
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in self.fields)
        key_columns = [self.model._meta.get_field(k).column for k in self.key]
        returning = ", ".join(qn(c) for c in [self.model._meta.pk.column, *key_columns])
        sqlite = connection.vendor == "sqlite"
        # SQLite's cursor wrapper rewrites every %s of a statement into ? with a regex: on
        # statements of 12,000 parameters that was a tenth of the writer's time. Write ? directly
        # and keep Django's translation of database errors (IntegrityError drives the retry).
        one = "(" + ", ".join(["?" if sqlite else "%s"] * len(self.fields)) + ")"
        per_statement = max(1, min(500, 30_000 // len(self.fields)))
        ids: dict[tuple, int] = {}
        with connection.cursor() as cursor:
            raw = cursor.cursor
            for chunk in _chunks(rows, per_statement):
                sql = (f"INSERT INTO {qn(self.model._meta.db_table)} ({columns}) "
                       f"VALUES {', '.join([one] * len(chunk))} RETURNING {returning}")
                params = [v for row in chunk for v in row]
                if sqlite:
                    with connection.wrap_database_errors:
                        got_rows = sqlite3.Cursor.execute(raw, sql, params).fetchall()
                else:
                    cursor.execute(sql, params)
                    got_rows = cursor.fetchall()
                for got in got_rows:
                    ids[tuple(got[1:])] = got[0]
        return ids


@dataclass
class _Plan:
    creates: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    unchanged: int = 0
    rejections: list = field(default_factory=list)
    households: dict = field(default_factory=dict)
    addresses: dict = field(default_factory=dict)
    clear_heads: list = field(default_factory=list)
    moves: dict = field(default_factory=dict)
    household_by_id: dict = field(default_factory=dict)
    resident_rows: list = field(default_factory=list)
    touched: list = field(default_factory=list)


def residents_import(*, acting_user, path, file_name: str = "", dry_run: bool = False, report_path=None,
                     progress: Callable[[int, int], None] | None = None, batch_size: int = BATCH_SIZE,
                     audit_object_id: str = "", today: date | None = None,
                     process_min_rows: int | None = None) -> ImportResult:
    """Imports the workbook at `path` for `acting_user` (None: the system, for the whole county).

    Returns the counts and the first rejections; writes the report workbook to `report_path` if
    given. Raises PermissionDenied without people.import, WorkbookError if the file cannot be read
    (nothing is written then). See the module docstring for the guarantees.
    """
    if acting_user is not None:
        require(acting_user, "people.import")
    started = time.monotonic()
    file_name = file_name or Path(str(path)).name
    report = ReportWriter(report_path) if report_path else None
    importer = None
    sheets: list[DataSheet] = []
    outcome, message = AuditOutcome.SUCCESS, ""
    try:
        sheets = open_workbook(path, is_header=cols.is_header_row)
        if not sheets:
            raise WorkbookError("文件中没有找到人口信息表：请使用导入模板，表头须包含“姓名”和“公民身份号码”")
        importer = _Importer(acting_user=acting_user, dry_run=dry_run, batch_size=batch_size, report=report,
                             progress=progress, today=today or timezone.localdate(),
                             path=str(path) if isinstance(path, str | os.PathLike) else None,
                             process_min_rows=process_min_rows)
        importer.run(sheets)
    except Exception as exc:
        outcome = AuditOutcome.FAILURE
        message = exc.message if isinstance(exc, WorkbookError) else f"{type(exc).__name__}: {exc}"
        raise
    finally:
        counts = importer.counts if importer else ImportCounts()
        result = ImportResult(file_name=file_name, dry_run=dry_run, counts=counts, sheets=[s.name for s in sheets],
                              seconds=time.monotonic() - started, rejections=importer.sample if importer else [],
                              report_path=str(report_path) if report_path else None,
                              checking_peak_rss_mb=importer.checking_peak_rss_kb / 1024 if importer else 0.0)
        if report is not None:
            summary = result.summary()
            if message:
                summary.append(("错误", message))
            report.close(summary)
        audit_record(
            actor=acting_user, action="people.import", object_type="people.importjob", object_id=audit_object_id,
            changes={"file": file_name[:200], "dry_run": dry_run, **asdict(counts),
                     "seconds": round(result.seconds, 1)},
            outcome=outcome, message=message[:500], username="system" if acting_user is None else "",
        )
    return result
