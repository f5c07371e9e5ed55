"""Writing the plan: plain multi-row inserts (executemany) for the big tables."""

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import OuterRef, Subquery

from gridgov.core.fields import EncryptedTextField
from gridgov.people.choices import HouseUse, Occupancy, ResidentState
from gridgov.people.models import Address, CareTag, CareTagType, House, Household, Resident
from gridgov.people.validation import identity_fields

from .base import BATCH, HEAD, HouseholdPlan, PersonPlan, PopulationPlan


def _preparer(field, vendor: str, connection):
    """How a value of `field` is made ready for the database, or None when it goes as it is.

    The field's own `get_db_prep_save` (encryption, UUID), except for dates, aware datetimes and
    JSON, which are done here directly because Django's settings look-ups around them cost
    more than the insert itself: psycopg adapts both on PostgreSQL; on SQLite Django stores a date
    as its ISO text and an aware datetime as naive UTC text (`adapt_datetimefield_value`).
    """
    slow = field.get_db_prep_save  # anything else (a naive datetime, a datetime for a date) goes Django's way
    if isinstance(field, models.DateTimeField):
        if vendor == "postgresql":
            return lambda v: v if type(v) is datetime and v.tzinfo is not None else slow(v, connection)
        utc = connection.timezone
        return lambda v: (v.astimezone(utc).isoformat(" ")[:-6] if type(v) is datetime and v.tzinfo is not None
                          else slow(v, connection))  # [:-6] drops the "+00:00"
    if isinstance(field, models.DateField):
        if vendor == "postgresql":
            return lambda v: v if type(v) is date else slow(v, connection)
        return lambda v: v.isoformat() if type(v) is date else slow(v, connection)
    if isinstance(field, models.JSONField) and field.encoder is None:
        # Django's adapt_json_value is json.dumps on SQLite and a Jsonb of json.dumps on PostgreSQL,
        # whose text COPY parses the same text into the same jsonb
        return lambda v: (json.dumps(v) if v else "{}" if type(v) is dict else "[]") \
            if type(v) is dict or type(v) is list else slow(v, connection)
    if isinstance(field, EncryptedTextField | models.JSONField | models.UUIDField):
        return lambda v: slow(v, connection)
    return None


def row_preparer(model, fields: list[str], *, prepared: Iterable[str] = ()) -> Callable[[tuple], list | tuple]:
    """A function that makes one row of `fields` ready for the database, as `insert_rows` does.

    For rows made in another process (city/pipeline.py): that process prepares them and the writer
    passes `prepared=fields`. Only the columns that need it are touched; the same object in a column
    row after row (the seed's `now`) is prepared once, never for an encrypted column, where each
    value must get its own nonce.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the `connection` proxy costs a lookup per use
    opts = model._meta
    skip = set(prepared)
    todo = []
    for i, name in enumerate(fields):
        f = opts.get_field(name)
        prep = None if name in skip else _preparer(f, db.vendor, db)
        if prep is not None:
            todo.append((i, prep, not isinstance(f, EncryptedTextField), [None, None]))

    def ready(row):
        if not todo:
            return row
        row = list(row)
        for i, prep, memo, last in todo:
            value = row[i]
            if value is None:
                continue
            if memo and value is last[0]:
                row[i] = last[1]
                continue
            row[i] = done = prep(value)
            if memo:
                last[0], last[1] = value, done
        return row

    return ready


def insert_rows(model, fields: list[str], rows: Iterable[tuple], *, prepared: Iterable[str] = ()) -> int:
    """Rows straight into the table: `COPY … FROM STDIN` on PostgreSQL, `INSERT … VALUES` through
    `executemany` in batches elsewhere. What `bulk_create` does without building a model instance
    and an SQL string per row, which for this many rows is most of its cost.

    Values go through their field's own `get_db_prep_save` where it matters, so encryption, aware
    datetimes and JSON are stored exactly as the ORM would store them. No signals, no defaults:
    every column the table needs must be in `fields` (auto_now columns included). Columns named in
    `prepared` already hold database values.
    """
    opts = model._meta
    db = connections[DEFAULT_DB_ALIAS]
    qn = db.ops.quote_name
    table, columns = qn(opts.db_table), ", ".join(qn(opts.get_field(name).column) for name in fields)
    ready = row_preparer(model, fields, prepared=prepared)

    count = 0
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            # One COPY: the server parses no statement per row (executemany there runs one INSERT per row).
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(ready(row))
                    count += 1
            return count
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
        batch: list[list] = []
        for row in rows:
            batch.append(ready(row))
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def tag_types() -> dict[str, CareTagType]:
    return {t.code: t for t in CareTagType.objects.all()}


def write_population(plan: PopulationPlan, *, now: datetime,
                     progress: Callable[[str], None] = lambda s: None) -> dict[str, int]:
    """Addresses, houses, households, residents (guardians before wards), heads, owners and tags.

    Rows are found again by their natural keys (the address, the household number, the ID number's
    blind index), so no insert needs to return its ids.
    """
    hhs = plan.households
    insert_rows(Address, ["region", "road", "house_number", "building", "unit", "room", "lon", "lat", "created_at",
                          "updated_at"],
                ((h.grid, h.road, h.house_number, h.building, h.unit, h.room, round(h.lon, 6), round(h.lat, 6),
                  now, now)
                 for h in hhs))
    key = ("region_id", "road", "house_number", "building", "unit", "room")
    ours = {"region__code__gte": min(h.grid for h in hhs), "region__code__lte": max(h.grid for h in hhs)}
    address_ids = {row[1:]: row[0] for row in Address.objects.filter(**ours).values_list("pk", *key)}
    for h in hhs:
        h.address_pk = address_ids[(h.grid, h.road, h.house_number, h.building, h.unit, h.room)]
    insert_rows(House, ["region", "address", "use", "occupancy", "owner_name", "note", "created_at", "updated_at"],
                ((h.grid, h.address_pk, HouseUse.RENTAL.value if h.occupancy == Occupancy.TENANT else
                  HouseUse.RESIDENTIAL.value, h.occupancy, "", h.house_note, now, now) for h in hhs))
    insert_rows(Household, ["region", "number", "address", "registered_address", "created_at", "updated_at"],
                ((h.grid, h.number, h.address_pk, h.registered_address, now, now) for h in hhs))
    household_ids = dict(Household.objects.filter(**ours).values_list("number", "pk"))
    for h in hhs:
        h.pk = household_ids[h.number]
    progress(f"地址、房屋与户已写入：{len(hhs):,} 户")

    fields = ["region", "name", "gender", "birth_date", "ethnicity", "id_number", "id_number_index", "id_tail",
              "phone", "phone_index", "residency_status", "political_status", "household", "relation_to_head",
              "address", "occupation", "health_note", "guardian", "guardian_note", "state", "created_at", "updated_at"]

    def row(h: HouseholdPlan, p: PersonPlan) -> tuple:
        guardian = h.members[p.guardian].pk if p.guardian is not None else None
        index = identity_fields(id_number=p.id_number, phone=p.phone)
        p.index = index["id_number_index"]
        return (h.grid, p.name, p.gender, p.birth, p.ethnicity, p.id_number, index["id_number_index"], index["id_tail"],
                p.phone, index["phone_index"], p.residency, p.political, h.pk, p.relation, h.address_pk, p.occupation,
                p.health_note, guardian, p.guardian_note, ResidentState.ACTIVE.value, now, now)

    for minors in (False, True):  # guardians first, so wards can point at them
        people = [(h, p) for h, p in plan.people() if (p.age < 18) == minors]
        insert_rows(Resident, fields, (row(h, p) for h, p in people))
        ids = dict(Resident.objects.filter(**ours).values_list("id_number_index", "pk"))
        for _h, p in people:
            p.pk = ids[p.index]
    # Two statements instead of 12,000 updates: the head is the member related as 户主, and an
    # owner-occupied house belongs to the head of the household at its address.
    heads = Resident.objects.filter(household=OuterRef("pk"), relation_to_head=HEAD).values("pk")[:1]
    Household.objects.filter(head__isnull=True, **ours).update(head=Subquery(heads))
    owners = Household.objects.filter(address=OuterRef("address")).values("head")[:1]
    House.objects.filter(occupancy=Occupancy.OWNER, owner__isnull=True, **ours).update(owner=Subquery(owners))
    residents = sum(len(h.members) for h in hhs)
    progress(f"实有人口已写入：{residents:,} 人")

    types = tag_types()
    tags = insert_rows(
        CareTag, ["resident", "tag_type", "region", "attributes", "visit_every_days", "sensitivity", "since",
                  "created_at"],
        ((p.pk, types[t.code].pk, h.grid, json.dumps(t.attributes, ensure_ascii=False),
          types[t.code].frequency_for(t.attributes), types[t.code].sensitivity, t.since, now)
         for h, p in plan.people() for t in p.tags),
    )
    progress(f"关爱对象标签已写入：{tags:,} 个")
    return {"households": len(hhs), "residents": residents, "care_tags": tags}
