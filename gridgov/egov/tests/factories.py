"""Test data for egov: residents and care tags written straight to the tables of the seeded demo's
湖山村 (胡集镇) and its neighbours, seeded users by post, tiny valid scans, and a helper that drives an
application to a given state through the services."""

import itertools
import json
import random
from datetime import date, datetime, time

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.idcard import make_id_number
from gridgov.core.testing import user_with_role
from gridgov.egov import services
from gridgov.egov.models import ServiceItem
from gridgov.people.models import CareTag, CareTagType, Household, Resident
from gridgov.people.validation import identity_fields

COUNTY = "420881"
HUJI = "420881103"
HUSHAN = "420881103201"  # 湖山村
YUANTAI = "420881103202"  # 袁台村, the next village of the same town
SHIPAI = "420881108"
ZHONGYAN = "420881108201"  # 钟堰村
ID_REGION = "110101"  # test people are "from" 北京市东城区: their numbers cannot clash with the demo's

_seq = itertools.count(random.Random().randrange(0, 400) * 1000)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"

TEMP_AID = "SB001"  # 临时救助: one-off, town review
REWARD = "SB006"  # 严重精神障碍患者监护以奖代补: monthly 200 yuan, town review
OLD_AGE = "SB007"  # 高龄津贴: monthly, no town review
HUKOU_PROOF = "GG001"  # 户籍证明: 公安局, no money, no town review
HOUSING = "XZ001"  # 农村建房审批: 住建局


def grid(village: str = HUSHAN, n: int = 1) -> str:
    return f"{village}{n:03d}"


def user(role: str, where: str | None = None):
    if role in (Role.DEPT_STAFF, Role.DEPT_HEAD):
        return user_with_role(role, department_code=where)
    if role in (Role.AUDITOR, Role.SYSADMIN):
        return user_with_role(role)
    return user_with_role(role, where)


def resident(grid_code: str = None, *, name: str = "", birth: date = date(1950, 3, 1), gender: str = "male",
             household: Household | None = None, state: str = "active") -> Resident:
    grid_code = grid_code or grid()
    n = next(_seq)
    id_number = make_id_number(ID_REGION, birth, (n % 500) * 2 + (1 if gender == "male" else 0))
    # The sequence keeps numbers unique within a run; the blind index is what the constraint checks.
    while Resident.objects.filter(id_number_index=identity_fields(id_number=id_number)["id_number_index"]).exists():
        n = next(_seq)
        id_number = make_id_number(ID_REGION, birth, (n % 500) * 2 + (1 if gender == "male" else 0))
    return Resident.objects.create(
        region_id=grid_code, name=name or f"测试{n}", gender=gender, birth_date=birth, id_number=id_number,
        household=household, state=state, **identity_fields(id_number=id_number, phone=""),
    )


def tag(person: Resident, code: str, *, since: date | None = date(2025, 1, 1), ended_on: date | None = None,
        **attributes) -> CareTag:
    tag_type = CareTagType.objects.get(code=code)
    return CareTag.objects.create(
        resident=person, tag_type=tag_type, region_id=person.region_id, attributes=json.dumps(attributes),
        visit_every_days=tag_type.frequency_for(attributes), sensitivity=tag_type.sensitivity, since=since,
        ended_on=ended_on,
    )


def upload(content: bytes = PDF, name: str = "scan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def item(code: str) -> ServiceItem:
    return ServiceItem.objects.get(code=code)


def answers_for(code: str) -> dict:
    return {
        TEMP_AID: {"reason": "因病", "family_size": 3, "monthly_income": "800", "requested_amount": 3000,
                   "situation": "胃癌两次住院，家庭无力负担"},
        REWARD: {"guardian_name": "李大山", "guardian_relation": "配偶", "risk_level": 3},
        OLD_AGE: {},
        HUKOU_PROOF: {"purpose": "亲属关系证明"},
        HOUSING: {"kind": "原址翻建", "floor_area": 180, "floors": 2},
    }[code]


def attach_required(agent, app, when: datetime | None = None) -> None:
    for material in app.item.required_materials if hasattr(app, "item") else item(app.item_id).required_materials:
        services.application_material_add(acting_user=agent, application_id=app.pk, material_code=material["code"],
                                          upload=upload(), at=when)


class Flow:
    """Drives one application through the workflow with the right seeded users."""

    def __init__(self, code: str = TEMP_AID, person: Resident | None = None, department: str = "MZJ"):
        self.code = code
        self.person = person or resident()
        village = self.person.region_id[:12]
        self.worker = user(Role.GRID_WORKER, self.person.region_id)
        self.admin = user(Role.GRID_ADMIN, village)
        self.town = user(Role.TOWN_OPERATOR, village[:9])
        self.staff = user(Role.DEPT_STAFF, department)
        self.head = user(Role.DEPT_HEAD, department)
        self.app = None

    def start(self, *, by=None, when=None, **extra):
        self.app = services.application_create(
            acting_user=by or self.admin, item_code=self.code, applicant_id=self.person.pk,
            answers=extra.pop("answers", answers_for(self.code)), at=when,
            payee_account=extra.pop("payee_account", "6217995200012345678"), **extra)
        return self.app

    def accept(self, when=None):
        attach_required(self.admin, self.app, when)
        self.app = services.application_accept(acting_user=self.admin, application_id=self.app.pk, at=when)
        return self.app

    def to_department(self, when=None):
        if self.app.state == "town_review":
            self.app = services.application_town_pass(acting_user=self.town, application_id=self.app.pk, at=when)
        return self.app

    def verify(self, when=None):
        self.app = services.application_verify(acting_user=self.staff, application_id=self.app.pk,
                                               note="入户核实，情况属实", at=when)
        return self.app

    def approve(self, when=None, **extra):
        self.app = services.application_approve(acting_user=self.head, application_id=self.app.pk, at=when, **extra)
        return self.app

    def run_to(self, state: str, when=None):
        steps = ["pending", "accepted", "dept_verify", "dept_decide", "approved"]
        self.start(when=when)
        if state == "pending":
            return self.app
        self.accept(when)
        if state in ("town_review", "accepted"):
            return self.app
        self.to_department(when)
        if state == "dept_verify":
            return self.app
        self.verify(when)
        if state == "dept_decide":
            return self.app
        self.approve(when, amount_fen=300000 if item(self.code).pays_money and
                     not item(self.code).standard_amount_fen else None)
        assert state in steps
        return self.app
