"""Seeds the configurable list of special groups (GB/T 31000 special populations included)."""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "care_tag_types.json"


def load(apps, schema_editor):
    CareTagType = apps.get_model("people", "CareTagType")
    for order, row in enumerate(json.loads(DATA.read_text("utf-8")), start=1):
        CareTagType.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"], "category": row["category"], "sensitivity": row["sensitivity"],
                "visit_every_days": row["visit_every_days"], "attribute_schema": row.get("attribute_schema", []),
                "frequency_rules": row.get("frequency_rules", []), "checklist": row.get("checklist", []),
                "sort_order": order * 10,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
