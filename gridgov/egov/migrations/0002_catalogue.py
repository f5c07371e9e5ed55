"""Seeds the 93 items of 政务网上办 (公共服务, 行政审批, 社会保障) from data/catalogue.json.

Re-running updates the items by code; items edited later through the services keep their edits
until the next migration that says otherwise.
"""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "catalogue.json"


def _tag_codes(node, codes: set) -> None:
    # Tag codes a rule reads: "<code>.<attr>" variables and the literal of {"in": ["<code>", {"var": "tags"}]}.
    if isinstance(node, dict):
        for op, args in node.items():
            if op == "var":
                name = args[0] if isinstance(args, list) and args else args
                if isinstance(name, str) and "." in name:
                    codes.add(name.split(".", 1)[0])
            elif op == "in" and isinstance(args, list) and len(args) == 2 and args[1] == {"var": "tags"}:
                if isinstance(args[0], str):
                    codes.add(args[0])
            _tag_codes(args, codes)
    elif isinstance(node, list):
        for child in node:
            _tag_codes(child, codes)


def load(apps, schema_editor):
    ServiceItem = apps.get_model("egov", "ServiceItem")
    CareTagType = apps.get_model("people", "CareTagType")
    sensitivity = dict(CareTagType.objects.values_list("code", "sensitivity"))
    for order, row in enumerate(json.loads(DATA.read_text("utf-8")), start=1):
        codes: set = set()
        _tag_codes(row.get("eligibility_rule"), codes)
        ServiceItem.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"], "category": row["category"], "department_code": row["department_code"],
                "acceptance_level": row.get("acceptance_level", "village"), "summary": row.get("summary", ""),
                "materials": row.get("materials", []), "steps": row.get("steps", []),
                "promised_days": row["promised_days"], "fee": row.get("fee", "不收费"),
                "legal_basis": row.get("legal_basis", ""), "pays_money": row.get("pays_money", False),
                "benefit_kind": row.get("benefit_kind", "none"),
                "standard_amount_fen": row.get("standard_amount_fen"),
                "needs_town_review": row.get("needs_town_review", False), "questions": row.get("questions", []),
                "eligibility_rule": row.get("eligibility_rule"),
                "rule_sensitivity": max([sensitivity.get(c, 1) for c in codes] or [1]),
                "sort_order": order * 10,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("egov", "0001_initial"), ("people", "0002_care_tag_types")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
