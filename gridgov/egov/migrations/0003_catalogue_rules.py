"""Narrower 政策找人 rules for the age-based items: those who have just reached the age (养老保险待遇
领取 and 老年人优待证 at 60, the free health check at 65) and elderly living alone or left behind for
家庭医生签约; 计划生育奖励扶助 has no rule (the registry holds no family-planning data)."""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "catalogue.json"
CODES = {"SB014", "SB025", "GG013", "GG014", "GG017"}


def load(apps, schema_editor):
    ServiceItem = apps.get_model("egov", "ServiceItem")
    CareTagType = apps.get_model("people", "CareTagType")
    sensitivity = dict(CareTagType.objects.values_list("code", "sensitivity"))
    for row in json.loads(DATA.read_text("utf-8")):
        if row["code"] not in CODES:
            continue
        rule = row.get("eligibility_rule")
        tags = {t for t in ("living_alone_elderly", "left_behind_elderly") if t in json.dumps(rule or {})}
        ServiceItem.objects.filter(code=row["code"]).update(
            eligibility_rule=rule, rule_sensitivity=max([sensitivity.get(t, 1) for t in tags] or [1]))


class Migration(migrations.Migration):
    dependencies = [("egov", "0002_catalogue")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
