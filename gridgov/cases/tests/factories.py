"""Test data for cases: seeded grids and accounts, and cases driven to any state through the services.

Cases are made through the real services (never written straight to the table), so a case "in state
X" is exactly what the product would have produced.
"""

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile

from gridgov.accounts.choices import Role
from gridgov.cases import services
from gridgov.cases.choices import CaseState
from gridgov.cases.models import Case
from gridgov.core.testing import user_with_role
from gridgov.regions.models import Region

HUJI = "420881103"  # 胡集镇: a rural town with its own 派出所
SHIPAI = "420881108"  # 石牌镇
YINGZHONG = "420881001"  # 郢中街道: a street, covered by 城管局

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 28
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evil.txt", "not a document")
    return buffer.getvalue()


def upload(content: bytes = JPEG, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def grid_in(town: str, index: int = 0) -> Region:
    return Region.objects.filter(level=4, code__startswith=town).order_by("code")[index]


def worker_of(grid: Region):
    return user_with_role(Role.GRID_WORKER, region_code=grid.code)


def town_operator(town: str):
    return user_with_role(Role.TOWN_OPERATOR, region_code=town)


def city_operator():
    return user_with_role(Role.CITY_OPERATOR)


def dept_user(code: str, role: str = Role.DEPT_STAFF):
    return user_with_role(role, department_code=code)


def report(grid: Region, *, category: str = "E0102", by=None, **extra) -> Case:
    """A report at the grid's centroid (so the locator puts it in that grid)."""
    values = {"lon": grid.centroid_lon, "lat": grid.centroid_lat, "description": "路边有暴露垃圾"}
    values.update(extra)
    return services.case_report(acting_user=by or worker_of(grid), category=category, **values)


# The path of transitions that brings a case to each state, as (action, actor key, kwargs).
PATHS = {
    CaseState.REPORTED: [],
    CaseState.ACCEPTED: [("accept", "desk", {})],
    CaseState.REGISTERED: [("accept", "desk", {}), ("register", "desk", {})],
    CaseState.DISPATCHED: [("accept", "desk", {}), ("register", "desk", {}), ("dispatch", "desk", {})],
    CaseState.HANDLING: [("accept", "desk", {}), ("register", "desk", {}), ("dispatch", "desk", {}),
                         ("handle", "dept", {})],
    CaseState.RETURNED: [("accept", "desk", {}), ("register", "desk", {}), ("dispatch", "desk", {}),
                         ("return", "dept", {"reason": "不属于本部门职责"})],
    CaseState.AWAITING_VERIFICATION: [("accept", "desk", {}), ("register", "desk", {}), ("dispatch", "desk", {}),
                                      ("handle", "dept", {}), ("feedback", "dept", {"note": "已清理"})],
    CaseState.REOPENED: [("accept", "desk", {}), ("register", "desk", {}), ("dispatch", "desk", {}),
                         ("handle", "dept", {}), ("feedback", "dept", {"note": "已清理"}),
                         ("verify", "desk", {"passed": False, "note": "现场仍有垃圾"})],
    CaseState.VERIFIED: [("accept", "desk", {}), ("register", "desk", {}), ("dispatch", "desk", {}),
                         ("handle", "dept", {}), ("feedback", "dept", {"note": "已清理"}),
                         ("verify", "desk", {"passed": True})],
    CaseState.CLOSED: [("accept", "desk", {}), ("register", "desk", {}), ("dispatch", "desk", {}),
                       ("handle", "dept", {}), ("feedback", "dept", {"note": "已清理"}),
                       ("verify", "desk", {"passed": True}), ("close", "desk", {})],
    CaseState.EVALUATED: [("accept", "desk", {}), ("register", "desk", {}), ("dispatch", "desk", {}),
                          ("handle", "dept", {}), ("feedback", "dept", {"note": "已清理"}),
                          ("verify", "desk", {"passed": True}), ("close", "desk", {}),
                          ("evaluate", "desk", {"score": 5})],
    CaseState.SUSPENDED: [("accept", "desk", {}), ("register", "desk", {}), ("suspend", "desk", {"reason": "待资金"})],
    CaseState.VOIDED: [("void", "desk", {"reason": "重复录入"})],
    CaseState.REJECTED: [("reject", "desk", {"reason": "不属于受理范围"})],
    CaseState.SELF_RESOLVED: [("self_resolve", "worker", {"note": "已现场清理", "files": "photo"})],
    CaseState.MERGED: [("merge", "desk", {"into": "other"})],
}


class World:
    """The cast of one rural grid in 胡集镇 and one street grid in 郢中街道."""

    def __init__(self):
        self.grid = grid_in(HUJI, 0)
        self.grid2 = grid_in(HUJI, 1)
        self.far_grid = grid_in(SHIPAI, 0)
        self.street_grid = grid_in(YINGZHONG, 0)
        self.worker = worker_of(self.grid)
        self.worker2 = worker_of(self.grid2)
        self.far_worker = worker_of(self.far_grid)
        self.street_worker = worker_of(self.street_grid)
        self.grid_admin = user_with_role(Role.GRID_ADMIN, region_code=self.grid.code[:12])
        self.town_op = town_operator(HUJI)
        self.far_town_op = town_operator(SHIPAI)
        self.street_op = town_operator(YINGZHONG)
        self.city_op = city_operator()
        self.station = f"GAJ-{HUJI}"
        self.far_station = f"GAJ-{SHIPAI}"
        self.station_staff = dept_user(self.station)
        self.station_head = dept_user(self.station, Role.DEPT_HEAD)
        self.far_station_staff = dept_user(self.far_station)
        self.cgj_staff = dept_user("CGJ")
        self.yjglj_staff = dept_user("YJGLJ")
        self.mzj_staff = dept_user("MZJ")
        self.auditor = user_with_role(Role.AUDITOR)
        self.sysadmin = user_with_role(Role.SYSADMIN)

    def case_in(self, state: str, *, category: str = "G0104", department: str | None = None, grid=None):
        """A case of `category` (default 治安秩序混乱 → the town's 派出所) brought to `state`."""
        grid = grid or self.grid
        department = department or self.station
        dept_user_ = dept_user(department)
        if state == CaseState.SELF_RESOLVED:
            category = "E0102"
        case = report(grid, category=category, by=worker_of(grid), description=f"测试案件 {state}")
        actors = {"desk": town_operator(grid.code[:9]), "dept": dept_user_, "worker": worker_of(grid)}
        for action, who, kwargs in PATHS[state]:
            kwargs = dict(kwargs)
            if action == "dispatch":
                kwargs["department"] = department
            if kwargs.get("files") == "photo":
                kwargs["files"] = [upload()]
            if kwargs.get("into") == "other":
                kwargs["into"] = report(grid, category=category, by=worker_of(grid), lon=grid.centroid_lon + 0.0001)
            getattr(services, f"case_{action}")(acting_user=actors[who], case=case, **kwargs)
        case.refresh_from_db()
        assert case.state == state, (case.state, state)
        return case
