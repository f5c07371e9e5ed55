"""Reference catalogues (care tag types, case taxonomy, the 93 service items, the 104 points items)
are loaded by data migrations. A flushed database (transactional tests, an operator's `flush`) has
the tables but not the rows, so the seed reloads them first with the same, idempotent loaders."""

from importlib import import_module

from django.apps import apps

LOADERS = (
    ("gridgov.people.migrations.0002_care_tag_types", "load"),
    ("gridgov.cases.migrations.0001_initial", "load_taxonomy"),
    ("gridgov.egov.migrations.0002_catalogue", "load"),
    ("gridgov.egov.migrations.0003_catalogue_rules", "load"),
    ("gridgov.points.migrations.0002_item_catalogue", "load"),
)


def ensure_reference_data() -> None:
    for module, function in LOADERS:
        getattr(import_module(module), function)(apps, None)
