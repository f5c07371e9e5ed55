"""Benchmark: import 1,050,000 residents from a generated .xlsx (issue 3).

    .venv/bin/python bench/import_people.py                 # the full run (about 20 minutes)
    .venv/bin/python bench/import_people.py --rows 50000    # a quick run
    .venv/bin/python bench/import_people.py --file big.xlsx # reuse a generated file
    .venv/bin/python bench/import_people.py --rows 50000 --one-process       # never a checking process
    .venv/bin/python bench/import_people.py --rows 200000 --checking-process  # always one

Steps, each in its own process so that each peak RSS is its own:
1. a fresh SQLite database in a temporary directory: migrate, `seed_demo --scale small`
   (2,867 grids), and a copy of it for the yardstick;
2. a workbook of valid residents spread over the demo grids in households (ID numbers of
   region 420881 with plausible ages, phones, every column of the template), written with
   xlsxwriter in constant_memory mode; past Excel's 1,048,575 data rows it continues on a
   second sheet with the same header;
3. `gridgov.people.importing.service.residents_import` on it: full validation, blind indexes,
   AES-256-GCM encryption, households and addresses (with its checking process beside it when
   the importer's rule or --checking-process says so); rows/s, CPU time of both processes and
   every thread, the load average, and the peak RSS of each process;
4. the yardstick: django-import-export (a ModelResource for Resident in its default
   configuration: row by row, with diffs and a transaction) on the first --yardstick-rows rows
   of the same data, extrapolated to the whole file, which the output says.

Targets: >= 10,000 rows/s, peak RSS < 600 MB, >= 2x the yardstick.
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXCEL_MAX_DATA_ROWS = 1_048_575
TARGET_RATE = 10_000
TARGET_RSS_MB = 600
TARGET_RATIO = 2.0

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强海燕红梅春艳文杰晓东玉兰凤英德明光荣金凤桂芳"
OCCUPATIONS = ["务农", "务工", "个体经营", "学生", "退休", "教师", "医生", "司机", "钟祥市人民医院", "湖北大生源药业",
               "无业", "建筑工人", "厨师", "快递员", "村干部"]
ROADS_RURAL = ["一组", "二组", "三组", "四组", "五组", "六组", "七组", "八组"]
ROADS_URBAN = ["莫愁大道", "承天大道", "王府大道", "郢中大道", "阳春大街", "石城大道", "皇城路", "兰台路"]
ETHNIC = ["汉族"] * 97 + ["回族", "土家族", "苗族"]
RESIDENCY = ["户籍"] * 70 + ["常住"] * 12 + ["流动"] * 6 + ["外出务工"] * 12
POLITICAL = ["群众"] * 88 + ["中共党员"] * 7 + ["共青团员"] * 4 + ["中共预备党员"]


def log(message: str) -> None:
    print(message, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def io_written_mb() -> float:
    """Bytes this process sent to storage (/proc/self/io), in MB: the WAL and the database."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1]) / 1e6
    except OSError:
        pass
    return 0.0


def cpu_seconds() -> float:
    """User + system time of this process, all threads, and of its finished children (the
    importer's checking process): a figure that load on the machine hardly changes (wall time
    on a busy shared machine can be several times longer)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def setup_django(db_path: Path, var_dir: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["GRIDGOV_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- phase: prepare the databases --------------------------------------------------------------

def phase_prepare(args) -> dict:
    work = Path(args.work)
    setup_django(work / "bench.sqlite3", work)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    try:
        # The structure only: the generated residents must not collide with a demo population.
        call_command("seed_demo", scale="small", no_people=True, quiet=True)
    except TypeError:
        call_command("seed_demo", scale="small", quiet=True)  # an older seed_demo without --no-people
    except Exception as exc:  # noqa: BLE001 - the seed command is another engineer's; fall back
        log(f"seed_demo unavailable ({exc}); creating a minimal region tree")
        minimal_regions()
    from gridgov.regions.models import Region

    grids = list(Region.objects.filter(level=4).order_by("code").values_list("code", flat=True))
    connection.close()
    shutil.copy(work / "bench.sqlite3", work / "yardstick.sqlite3")
    (work / "grids.json").write_text(json.dumps(grids))
    return {"grids": len(grids)}


def minimal_regions() -> None:
    from gridgov.regions.models import Region

    county = Region.objects.create(code="420881", name="钟祥市", kind="county", level=1)
    for t in range(18):
        town = Region.objects.create(code=f"420881{100 + t:03d}", name=f"镇{t}", kind="town", level=2, parent=county)
        for v in range(31):
            village = Region.objects.create(code=f"{town.code}{200 + v:03d}", name=f"村{v}", kind="village", level=3,
                                            parent=town)
            Region.objects.bulk_create([Region(code=f"{village.code}{g:03d}", name=f"第{g}网格", kind="grid", level=4,
                                               parent=village) for g in range(1, 6)])


# --- phase: generate the workbook -------------------------------------------------------------

def people(rows: int, grids: list[str], seed: int = 2026):
    """Rows of valid residents in households, deterministic for a seed."""
    from gridgov.core.idcard import make_id_number

    rng = random.Random(seed)
    counters: dict[date, int] = {}
    today = date(2026, 1, 1)
    per_grid = max(1, rows // len(grids))
    produced = 0

    def birth(lo: int, hi: int) -> date:
        return date(lo, 1, 1) + timedelta(days=rng.randrange((date(hi, 12, 31) - date(lo, 1, 1)).days))

    def id_number(born: date, male: bool) -> str:
        n = counters.get(born, 0)
        counters[born] = n + 1
        sequence = n * 2 + (1 if male else 0)
        if sequence > 999:
            raise RuntimeError("too many people born on one day")
        return make_id_number("420881", born, sequence)

    grid_i = 0
    while produced < rows:
        grid = grids[grid_i % len(grids)]
        urban = grid[6:9] in ("001", "002")
        household = 0
        in_grid = 0
        while in_grid < per_grid and produced < rows:
            household += 1
            surname = rng.choice(SURNAMES)
            size = rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5))
            road = rng.choice(ROADS_URBAN if urban else ROADS_RURAL)
            house = str(rng.randint(1, 300)) if not urban else f"{rng.randint(1, 99)}-{rng.randint(1, 30)}"
            head_male = rng.random() < 0.8
            members = [("户主", head_male, birth(1945, 1995))]
            if size >= 2:
                members.append(("配偶", not head_male, birth(1945, 1995)))
            for _ in range(size - 2):
                kind = rng.random()
                if kind < 0.65:
                    members.append(("子女", rng.random() < 0.5, birth(1990, 2024)))
                elif kind < 0.85:
                    members.append(("父母", rng.random() < 0.5, birth(1930, 1960)))
                else:
                    members.append(("孙子女", rng.random() < 0.5, birth(2010, 2025)))
            for relation, male, born in members:
                if produced >= rows:
                    break
                name = (surname if relation in ("户主", "子女", "孙子女") else rng.choice(SURNAMES)) + \
                    "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
                adult = (today - born).days > 18 * 365
                phone = f"1{rng.choice('3456789')}{rng.randrange(10 ** 9):09d}" if adult and rng.random() < 0.9 else ""
                if phone and rng.random() < 0.1:
                    phone = float(phone)  # as Excel stores a number typed into a general cell
                yield [
                    grid, f"{household:04d}", relation, name, id_number(born, male), phone, rng.choice(ETHNIC),
                    rng.choice(RESIDENCY), rng.choice(POLITICAL) if adult else "群众",
                    rng.choice(OCCUPATIONS) if adult else "学生", road, house, "",
                ]
                produced += 1
                in_grid += 1
        grid_i += 1


def write_workbook(path: Path, rows: int, grids: list[str]) -> None:
    import xlsxwriter

    from gridgov.people.importing import columns as cols

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    header = [c.header for c in cols.COLUMNS]
    sheet = None
    sheet_rows = EXCEL_MAX_DATA_ROWS
    sheets = 0
    started = time.monotonic()
    for i, row in enumerate(people(rows, grids)):
        if sheet_rows >= EXCEL_MAX_DATA_ROWS:
            sheets += 1
            sheet = book.add_worksheet(cols.DATA_SHEET if sheets == 1 else f"{cols.DATA_SHEET}{sheets}")
            sheet.write_row(0, 0, header)
            sheet_rows = 0
        sheet_rows += 1
        sheet.write_row(sheet_rows, 0, row)
        if (i + 1) % 100_000 == 0:
            log(f"  generated {i + 1:,} rows ({time.monotonic() - started:.0f} s)")
    book.close()


def phase_generate(args) -> dict:
    work = Path(args.work)
    setup_django(work / "bench.sqlite3", work)
    grids = json.loads((work / "grids.json").read_text())
    started = time.monotonic()
    write_workbook(Path(args.file), args.rows, grids)
    return {"seconds": time.monotonic() - started, "bytes": Path(args.file).stat().st_size}


# --- phase: our importer ----------------------------------------------------------------------

def phase_import(args) -> dict:
    work = Path(args.work)
    setup_django(work / "bench.sqlite3", work)
    from gridgov.people.importing.service import residents_import
    from gridgov.people.models import Household, Resident

    baseline = peak_rss_mb()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 10:
            last[0] = now
            log(f"  imported {done:,}/{total:,} rows, {done / (now - started):,.0f} rows/s, "
                f"peak RSS {peak_rss_mb():.0f} MB")

    started, cpu, load = time.monotonic(), cpu_seconds(), os.getloadavg()[0]
    result = residents_import(acting_user=None, path=args.file, report_path=str(work / "report.xlsx"),
                              progress=progress, batch_size=args.batch_size, process_min_rows=process_min_rows(args))
    seconds = time.monotonic() - started
    c = result.counts
    return {"batch_size": args.batch_size, "written_mb": io_written_mb(),
        "seconds": seconds, "cpu_seconds": cpu_seconds() - cpu, "load": [load, os.getloadavg()[0]],
        "rows": c.read, "created": c.created, "rejected": c.rejected, "updated": c.updated,
        "households": c.households_created, "addresses": c.addresses_created,
        "rows_per_s": c.read / seconds, "peak_rss_mb": peak_rss_mb(), "rss_before_mb": baseline,
        "child_peak_rss_mb": result.checking_peak_rss_mb,
        "residents_in_db": Resident.objects.count(), "households_in_db": Household.objects.count(),
        "sample": [r.reasons for r in result.rejections[:3]],
    }


def phase_reimport(args) -> dict:
    """The same file again: everything must come back unchanged."""
    work = Path(args.work)
    setup_django(work / "bench.sqlite3", work)
    from gridgov.people.importing.service import residents_import

    started, cpu = time.monotonic(), cpu_seconds()
    result = residents_import(acting_user=None, path=args.file, batch_size=args.batch_size,
                              process_min_rows=process_min_rows(args))
    seconds = time.monotonic() - started
    c = result.counts
    return {"seconds": seconds, "cpu_seconds": cpu_seconds() - cpu, "rows": c.read, "unchanged": c.unchanged,
            "created": c.created,
            "updated": c.updated, "rows_per_s": c.read / seconds, "peak_rss_mb": peak_rss_mb(),
            "child_peak_rss_mb": result.checking_peak_rss_mb}


def process_min_rows(args) -> int | None:
    if args.one_process:
        return 10**12
    if args.checking_process:
        return 0
    return None  # the importer's own rule: from 100,000 rows, when a second CPU is free


# --- phase: the yardstick ---------------------------------------------------------------------

def phase_yardstick(args) -> dict:
    work = Path(args.work)
    setup_django(work / "yardstick.sqlite3", work)
    import tablib
    from import_export import fields, resources, widgets

    from gridgov.core.idcard import parse_id_number
    from gridgov.people.choices import PoliticalStatus, RelationToHead, ResidencyStatus
    from gridgov.people.models import Resident
    from gridgov.people.validation import identity_fields, normalise_phone
    from gridgov.regions.models import Region

    labels = {}
    for choices in (ResidencyStatus, PoliticalStatus, RelationToHead):
        labels.update({str(label): code for code, label in choices.choices})

    class ResidentResource(resources.ModelResource):
        # Column names of the template; everything else is the default configuration
        # (row by row, diffs computed, no bulk, one transaction).
        region = fields.Field(attribute="region", column_name="网格编码",
                              widget=widgets.ForeignKeyWidget(Region, field="code"))
        name = fields.Field(attribute="name", column_name="姓名")
        id_number = fields.Field(attribute="id_number", column_name="公民身份号码")
        phone = fields.Field(attribute="phone", column_name="联系电话")
        ethnicity = fields.Field(attribute="ethnicity", column_name="民族")
        residency_status = fields.Field(attribute="residency_status", column_name="人口类型")
        political_status = fields.Field(attribute="political_status", column_name="政治面貌")
        relation_to_head = fields.Field(attribute="relation_to_head", column_name="与户主关系")
        occupation = fields.Field(attribute="occupation", column_name="职业/工作单位")
        id_number_index = fields.Field(attribute="id_number_index", column_name="id_number_index")
        id_tail = fields.Field(attribute="id_tail", column_name="id_tail")
        phone_index = fields.Field(attribute="phone_index", column_name="phone_index")
        gender = fields.Field(attribute="gender", column_name="gender")
        birth_date = fields.Field(attribute="birth_date", column_name="birth_date", widget=widgets.DateWidget())

        class Meta:
            model = Resident
            import_id_fields = ("id_number_index",)
            fields = ("region", "name", "id_number", "phone", "ethnicity", "residency_status", "political_status",
                      "relation_to_head", "occupation", "id_number_index", "id_tail", "phone_index", "gender",
                      "birth_date")

        def before_import_row(self, row, **kwargs):
            # What the platform needs beyond the file's columns: derived and searchable fields.
            parsed = parse_id_number(str(row["公民身份号码"]))
            phone = normalise_phone(row["联系电话"])
            row["联系电话"] = phone
            row.update(identity_fields(id_number=parsed.value, phone=phone))
            row["gender"] = parsed.gender
            row["birth_date"] = parsed.birth_date.isoformat()
            for key in ("人口类型", "政治面貌", "与户主关系"):
                row[key] = labels.get(row[key], row[key])

    started, cpu, load = time.monotonic(), cpu_seconds(), os.getloadavg()[0]
    with open(args.file, "rb") as handle:
        dataset = tablib.Dataset().load(handle.read(), format="xlsx")
    for extra in ("id_number_index", "id_tail", "phone_index", "gender", "birth_date"):
        dataset.append_col([""] * len(dataset), header=extra)
    loaded = time.monotonic() - started
    result = ResidentResource().import_data(dataset, dry_run=False, raise_errors=False)
    seconds = time.monotonic() - started
    rows = len(dataset)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds() - cpu, "load": [load, os.getloadavg()[0]],
            "load_seconds": loaded, "rows": rows, "rows_per_s": rows / seconds,
            "errors": len(result.row_errors()), "invalid": len(result.invalid_rows),
            "peak_rss_mb": peak_rss_mb(), "residents_in_db": Resident.objects.count()}


# --- driver -----------------------------------------------------------------------------------

PHASES = {"prepare": phase_prepare, "generate": phase_generate, "import": phase_import,
          "reimport": phase_reimport, "yardstick": phase_yardstick}


def run_phase(name: str, args, **overrides) -> dict:
    argv = [sys.executable, str(Path(__file__).resolve()), "--phase", name, "--work", args.work,
            "--rows", str(overrides.get("rows", args.rows)), "--file", str(overrides.get("file", args.file)),
            "--batch-size", str(overrides.get("batch_size", args.batch_size))] + (
                ["--one-process"] if args.one_process else ["--checking-process"] if args.checking_process else [])
    out = Path(args.work) / f"{name}.json"
    argv += ["--out", str(out)]
    subprocess.run(argv, check=True)
    return json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_050_000)
    parser.add_argument("--yardstick-rows", type=int, default=50_000,
                        help="rows for django-import-export (0: the whole file); its rate is extrapolated")
    parser.add_argument("--file", help="an existing generated workbook to import instead of generating one")
    parser.add_argument("--batch-size", type=int, default=10_000,
                        help="rows per batch and transaction (default 10,000, the importer's)")
    parser.add_argument("--work", help="working directory (default: a new temporary directory, removed after)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--no-reimport", action="store_true")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--one-process", action="store_true",
                      help="check the rows in the importing process (no checking process)")
    mode.add_argument("--checking-process", action="store_true",
                      help="always check the rows in a second process (by default: from 100,000 rows, when the "
                           "load average leaves a second CPU free)")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        result = PHASES[args.phase](args)
        Path(args.out).write_text(json.dumps(result, ensure_ascii=False))
        return 0

    work_given = bool(args.work)
    work = Path(args.work or tempfile.mkdtemp(prefix="gridgov-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    args.work = str(work)
    try:
        log(f"working directory {work}")
        prepared = run_phase("prepare", args)
        log(f"database migrated and seeded: {prepared['grids']:,} grids")
        if args.file:
            big = Path(args.file)
        else:
            big = work / f"residents-{args.rows}.xlsx"
            log(f"generating {args.rows:,} rows with xlsxwriter (constant_memory) …")
            generated = run_phase("generate", args, file=big)
            log(f"  {generated['bytes'] / 1e6:.1f} MB in {generated['seconds']:.0f} s")
        args.file = str(big)

        log("importing with gridgov (calamine, full validation, encryption, households) …")
        ours = run_phase("import", args)
        log(f"  {ours['rows']:,} rows in {ours['seconds']:.1f} s = {ours['rows_per_s']:,.0f} rows/s, "
            f"peak RSS {ours['peak_rss_mb']:.0f} MB; created {ours['created']:,}, rejected {ours['rejected']:,}, "
            f"households {ours['households']:,}, addresses {ours['addresses']:,}")
        if ours["rejected"]:
            log(f"  first reasons: {ours['sample']}")

        again = None
        if not args.no_reimport:
            log("importing the same file again (must change nothing) …")
            again = run_phase("reimport", args)
            log(f"  {again['rows']:,} rows in {again['seconds']:.1f} s = {again['rows_per_s']:,.0f} rows/s; "
                f"unchanged {again['unchanged']:,}, created {again['created']}, updated {again['updated']}")

        subset = args.yardstick_rows if 0 < args.yardstick_rows < ours["rows"] else ours["rows"]
        if subset < ours["rows"]:
            small = work / f"residents-{subset}.xlsx"
            log(f"yardstick on the first {subset:,} rows of the same data (written to {small.name}) …")
            run_phase("generate", args, rows=subset, file=small)
        else:
            small = big
            log("yardstick on the whole file …")
        yard = run_phase("yardstick", args, file=small)
        log(f"  django-import-export: {yard['rows']:,} rows in {yard['seconds']:.1f} s "
            f"(of which reading the file {yard['load_seconds']:.1f} s) = {yard['rows_per_s']:,.0f} rows/s, "
            f"peak RSS {yard['peak_rss_mb']:.0f} MB, errors {yard['errors']}, invalid {yard['invalid']}")

        ratio = ours["rows_per_s"] / yard["rows_per_s"]
        extrapolated = ours["rows"] / yard["rows_per_s"]
        log("")
        log("=== results ===")
        log(f"gridgov importer     {ours['rows']:>10,} rows  {ours['seconds']:8.1f} s  "
            f"{ours['rows_per_s']:>8,.0f} rows/s  peak RSS {ours['peak_rss_mb']:5.0f} MB "
            f"(+ checking process {ours['child_peak_rss_mb']:.0f} MB)")
        log(f"  CPU time {ours['cpu_seconds']:.1f} s (all threads and processes) = "
            f"{ours['rows'] / ours['cpu_seconds']:,.0f} rows "
            f"per CPU-second; load average {ours['load'][0]:.1f} → {ours['load'][1]:.1f} on {os.cpu_count()} CPUs")
        if again:
            log(f"  re-import          {again['rows']:>10,} rows  {again['seconds']:8.1f} s  "
                f"{again['rows_per_s']:>8,.0f} rows/s  peak RSS {again['peak_rss_mb']:5.0f} MB (all unchanged: "
                f"{again['unchanged'] == ours['created'] and not again['created'] and not again['updated']})")
        note = f" (measured on {yard['rows']:,} rows; {ours['rows']:,} rows extrapolated: {extrapolated:,.0f} s)" \
            if yard["rows"] < ours["rows"] else ""
        log(f"django-import-export {yard['rows']:>10,} rows  {yard['seconds']:8.1f} s  "
            f"{yard['rows_per_s']:>8,.0f} rows/s  peak RSS {yard['peak_rss_mb']:5.0f} MB{note}")
        log(f"  CPU time {yard['cpu_seconds']:.1f} s = {yard['rows'] / yard['cpu_seconds']:,.0f} rows per CPU-second; "
            f"load average {yard['load'][0]:.1f} → {yard['load'][1]:.1f}")
        cpu_ratio = (ours["rows"] / ours["cpu_seconds"]) / (yard["rows"] / yard["cpu_seconds"])
        log(f"  per CPU-second the importer does {cpu_ratio:.1f}x the yardstick's rows")
        checks = [
            (f"rate >= {TARGET_RATE:,} rows/s", ours["rows_per_s"] >= TARGET_RATE),
            (f"peak RSS < {TARGET_RSS_MB} MB (both processes together)",
             ours["peak_rss_mb"] + ours["child_peak_rss_mb"] < TARGET_RSS_MB),
            (f">= {TARGET_RATIO:g}x the yardstick ({ratio:.1f}x)", ratio >= TARGET_RATIO),
        ]
        for label, ok in checks:
            log(f"  [{'ok' if ok else 'MISSED'}] {label}")
        return 0 if all(ok for _, ok in checks) else 1
    finally:
        if not args.keep and not work_given:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
