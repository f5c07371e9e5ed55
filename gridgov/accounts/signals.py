"""Security events (logins, failures, lockouts, logouts) go to the audit log."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .services import audit_login_event


@receiver(user_logged_in, dispatch_uid="gridgov_login_ok")
def _logged_in(sender, request, user, **kwargs):
    audit_login_event(user=user, username=user.get_username(), action="auth.login", success=True)


@receiver(user_logged_out, dispatch_uid="gridgov_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_login_event(user=user, username=user.get_username(), action="auth.logout", success=True)


@receiver(user_login_failed, dispatch_uid="gridgov_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    audit_login_event(user=None, username=str(credentials.get("username", ""))[:150], action="auth.login",
                      success=False, message="用户名或密码错误")


@receiver(user_locked_out, dispatch_uid="gridgov_locked_out")
def _locked_out(sender, request, username, ip_address, **kwargs):
    audit_login_event(user=None, username=str(username or "")[:150], action="auth.lockout", success=False,
                      message="连续登录失败，账号锁定")
