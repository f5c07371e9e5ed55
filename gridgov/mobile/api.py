"""Sync API for the phone app: pull the worker's grid, push the outbox (docs/mobile.md).

Authentication is the session cookie of /m/ (or a bearer token); a push through the session needs
the CSRF token like any form post.
"""

from typing import Any

from ninja import Router, Schema

from . import selectors, services

router = Router(tags=["mobile"])


class PushIn(Schema):
    # Items stay untyped here on purpose: a malformed item must be refused on its own, with the good
    # items of the batch applied, rather than failing the whole batch at schema validation.
    items: list[Any]


class ItemResultOut(Schema):
    index: int
    client_id: str
    kind: str
    status: str
    code: str
    message: str
    ref: dict | None = None
    extra: dict = {}


class PushOut(Schema):
    results: list[ItemResultOut]
    ok: int
    duplicate: int
    refused: int


@router.get("/sync", summary="拉取本网格数据（离线缓存）")
def pull(request, cursor: str | None = None):
    return selectors.sync_pull(user=request.user, cursor=cursor)


@router.post("/sync", response=PushOut, summary="推送离线记录（按顺序、幂等）")
def push(request, body: PushIn):
    results = [r.as_dict() for r in services.sync_push(acting_user=request.user, items=body.items)]
    return {"results": results, **{s: sum(1 for r in results if r["status"] == s)
                                   for s in ("ok", "duplicate", "refused")}}
