"""Paginated lists: `{"count": N, "items": [...]}` with `page` and `page_size` (DESIGN contract)."""

from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema
from ninja.pagination import PaginationBase

MAX_PAGE_SIZE = 200


class PageInput(Schema):
    page: int = Field(1, ge=1, le=100_000, description="页码，从 1 开始")
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description="每页条数，最多 200")


class PageNumberCount(PaginationBase):
    class Input(PageInput):
        pass

    class Output(Schema):
        count: int
        items: list[Any]

    items_attribute = "items"

    def paginate_queryset(self, queryset: QuerySet, pagination: Input, **params):
        offset = (pagination.page - 1) * pagination.page_size
        count = queryset.count() if hasattr(queryset, "count") and not isinstance(queryset, list) else len(queryset)
        return {"count": count, "items": list(queryset[offset : offset + pagination.page_size])}
