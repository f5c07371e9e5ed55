from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码错误。连续失败 5 次，账号将锁定 30 分钟。"),
        "inactive": _("该账号已停用，请联系系统管理员。"),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username, password = self.fields["username"], self.fields["password"]
        username.label = _("用户名")
        password.label = _("密码")
        username.error_messages["required"] = _("请输入用户名。")
        password.error_messages["required"] = _("请输入密码。")
        username.widget = forms.TextInput(attrs={
            "autofocus": True, "autocomplete": "username", "autocapitalize": "none", "spellcheck": "false",
            "maxlength": username.max_length,
        })
        password.widget = forms.PasswordInput(attrs={"autocomplete": "current-password"})
