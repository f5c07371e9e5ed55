from datetime import datetime

from ninja import Router, Schema
from pydantic import Field

from gridgov.core.errors import ApplicationError

from . import twofactor
from .models import ApiToken
from .policy import get_scope
from .services import api_token_issue, api_token_revoke, authenticate_for_token

router = Router(tags=["auth 登录与令牌"])


class TokenIn(Schema):
    username: str = Field(..., min_length=1, max_length=150)
    password: str = Field(..., min_length=1, max_length=256)
    name: str = Field("", max_length=100, description="令牌用途，如设备名")
    otp: str = Field("", max_length=20, description="动态验证码或恢复码（需双因素认证的账号必填）")


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"
    expires_at: datetime


class TokenInfo(Schema):
    id: int
    prefix: str
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class MeOut(Schema):
    username: str
    full_name: str
    roles: list[str]
    region_scope: list[str]
    departments: list[int]


@router.post("/token", auth=None, response={201: TokenOut}, summary="用户名密码换取访问令牌")
def issue_token(request, data: TokenIn):
    user = authenticate_for_token(request=request, username=data.username, password=data.password)
    if twofactor.required_for(user):
        # The API must not be the way around the second factor.
        if not twofactor.TotpDevice.objects.filter(user=user).exists():
            raise ApplicationError("two_factor_enrolment_required", "该账号须先在网页登录时启用双因素认证", status=403)
        if not data.otp or not twofactor.verify(user=user, code=data.otp):
            raise ApplicationError("two_factor_required", "需要正确的动态验证码（otp）", status=401)
    token, raw = api_token_issue(acting_user=user, name=data.name)
    return 201, {"token": raw, "expires_at": token.expires_at}


@router.get("/me", response=MeOut, summary="当前用户与权限范围")
def me(request):
    user = request.auth
    scope = get_scope(user)
    return {
        "username": user.username, "full_name": user.full_name, "roles": sorted(scope.roles),
        "region_scope": list(scope.region_prefixes), "departments": list(scope.department_ids),
    }


@router.get("/tokens", response=list[TokenInfo], summary="我的访问令牌")
def list_tokens(request):
    return list(ApiToken.objects.filter(user=request.auth).order_by("-created_at")[:100])


@router.delete("/tokens/{token_id}", response={204: None}, summary="吊销访问令牌")
def revoke_token(request, token_id: int):
    api_token_revoke(acting_user=request.auth, token_id=token_id)
    return 204, None
