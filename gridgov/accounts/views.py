"""Login with a second factor: password first, then the authenticator code (or enrolment)."""

import time

import segno
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from . import twofactor
from .forms import LoginForm
from .models import User

PENDING = "gridgov_2fa_pending"
ENROL_SECRET = "gridgov_2fa_enrol_secret"
PENDING_SECONDS = 300  # the password step is good for five minutes
MAX_TRIES = 5


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not twofactor.required_for(user):
            return super().form_valid(form)
        # Not logged in yet: remember who passed the password step, for a few minutes.
        self.request.session.cycle_key()
        self.request.session[PENDING] = {"uid": user.pk, "backend": user.backend, "at": time.time(),
                                         "next": self.get_redirect_url(), "tries": 0}
        if twofactor.TotpDevice.objects.filter(user=user).exists():
            return redirect("accounts:two_factor")
        return redirect("accounts:two_factor_enrol")


def _pending_user(request):
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS or pending["tries"] >= MAX_TRIES:
        request.session.pop(PENDING, None)
        return None, None
    return User.objects.filter(pk=pending["uid"], is_active=True).first(), pending


def _finish(request, user, pending):
    request.session.pop(PENDING, None)
    request.session.pop(ENROL_SECRET, None)
    user.backend = pending["backend"]
    login(request, user)  # fires user_logged_in: the login is audited here, after both factors
    target = pending.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = settings.LOGIN_REDIRECT_URL
    return redirect(target)


def _failed(request, pending):
    pending["tries"] += 1
    request.session[PENDING] = pending
    return MAX_TRIES - pending["tries"]


@never_cache
@sensitive_post_parameters("code")
def two_factor(request):
    user, pending = _pending_user(request)
    if user is None:
        return redirect("accounts:login")
    error = ""
    if request.method == "POST":
        if twofactor.verify(user=user, code=request.POST.get("code", "")):
            return _finish(request, user, pending)
        left = _failed(request, pending)
        error = f"验证码错误，还可尝试 {left} 次。" if left > 0 else "验证码错误次数过多，请重新登录。"
        if left <= 0:
            request.session.pop(PENDING, None)
    return render(request, "accounts/two_factor.html", {"error": error, "username": user.get_username()},
                  status=200 if not error else 400)


@never_cache
@sensitive_post_parameters("code")
def two_factor_enrol(request):
    user, pending = _pending_user(request)
    if user is None:
        return redirect("accounts:login")
    if twofactor.TotpDevice.objects.filter(user=user).exists():
        return redirect("accounts:two_factor")  # enrolling again needs the security administrator
    secret = request.session.get(ENROL_SECRET) or twofactor.new_secret()
    request.session[ENROL_SECRET] = secret
    error = ""
    if request.method == "POST":
        codes = twofactor.enrol(user=user, secret=secret, code=request.POST.get("code", ""))
        if codes is not None:
            response = _finish(request, user, pending)
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": response.url})
        left = _failed(request, pending)
        error = f"验证码错误，还可尝试 {left} 次。" if left > 0 else "验证码错误次数过多，请重新登录。"
    uri = twofactor.provisioning_uri(user, secret)
    qr = segno.make(uri, error="m").svg_inline(scale=4)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render(request, "accounts/two_factor_enrol.html",
                  {"qr": qr, "secret": grouped, "error": error, "username": user.get_username()},
                  status=200 if not error else 400)


