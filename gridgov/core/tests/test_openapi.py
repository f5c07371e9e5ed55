"""The OpenAPI document of /api/v1 describes each schema under its own name.

django-ninja names a component after the schema class and merges the components of all routers
into one dict, so two different classes with the same name (egov's and points' `ItemOut`, …)
silently overwrote each other: the document then declared the wrong fields for one of the two
endpoints (found by the schema fuzzer, tests/security/test_fuzz_api.py)."""

import json
from collections import defaultdict

from ninja import Schema
from ninja.openapi.schema import REF_TEMPLATE
from ninja.schema import NinjaGenerateJsonSchema


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_schema_class_names_are_unique_across_the_api():
    from gridgov.api import api

    document = api.get_openapi_schema()
    by_name = defaultdict(dict)
    for cls in set(_subclasses(Schema)):
        if not cls.__module__.startswith("gridgov.") or cls.__name__ not in document["components"]["schemas"]:
            continue
        body = json.dumps(cls.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema),
                          sort_keys=True)
        by_name[cls.__name__].setdefault(body, []).append(f"{cls.__module__}.{cls.__qualname__}")
    clashes = {name: sorted(m for ms in bodies.values() for m in ms) for name, bodies in by_name.items()
               if len(bodies) > 1}
    assert len(by_name) > 100
    assert not clashes, f"rename one of each (the OpenAPI component is the class name): {clashes}"


def test_a_renamed_schema_is_the_one_its_endpoint_declares():
    from gridgov.api import api

    document = api.get_openapi_schema()
    items = document["paths"]["/api/v1/egov/items"]["get"]["responses"][200]
    ref = json.dumps(items)
    assert "ServiceItemOut" in ref
    fields = document["components"]["schemas"]["ServiceItemOut"]["properties"]
    assert {"category_name", "department_name", "promised_days"} <= set(fields)
    points = document["components"]["schemas"]["ItemOut"]["properties"]
    assert "promised_days" not in points
