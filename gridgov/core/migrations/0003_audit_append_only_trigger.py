"""The audit table refuses UPDATE and DELETE in the database itself (gridgov/core/security/auditguard.py)."""

from django.db import migrations


def install(apps, schema_editor):
    from gridgov.core.security import auditguard

    auditguard.install(schema_editor)


def remove(apps, schema_editor):
    from gridgov.core.security import auditguard

    auditguard.remove(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_chain")]

    operations = [migrations.RunPython(install, remove, elidable=False)]
