"""Seeds the 104-item catalogue from data/items.json (3 categories: 平安建设, 道德建设, 美丽乡村建设).

Items already present (by code) are left as an operator may have tuned them; reversing removes
only items nobody has used.
"""

import json
from pathlib import Path

from django.db import migrations

CATALOGUE = Path(__file__).resolve().parent.parent / "data" / "items.json"
FIELDS = ("category", "name", "description", "points_min", "points_max", "is_deduction", "subject_kinds",
          "evidence_required", "evidence_hint", "cap_period", "cap_times", "cap_points", "sort_order")


def load(apps, schema_editor):
    Item = apps.get_model("points", "Item")
    items = json.loads(CATALOGUE.read_text(encoding="utf-8"))["items"]
    existing = set(Item.objects.values_list("code", flat=True))
    Item.objects.bulk_create(
        [Item(code=row["code"], **{f: row[f] for f in FIELDS}) for row in items if row["code"] not in existing]
    )


def unload(apps, schema_editor):
    Item = apps.get_model("points", "Item")
    codes = [row["code"] for row in json.loads(CATALOGUE.read_text(encoding="utf-8"))["items"]]
    Item.objects.filter(code__in=codes, claims__isnull=True, entries__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
