from django import forms
from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "用户名或密码错误。连续失败 5 次，账号将锁定 30 分钟。",
        "inactive": "该账号已停用，请联系系统管理员。",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username, password = self.fields["username"], self.fields["password"]
        username.label = "用户名"
        password.label = "密码"
        username.error_messages["required"] = "请输入用户名。"
        password.error_messages["required"] = "请输入密码。"
        username.widget = forms.TextInput(attrs={
            "autofocus": True, "autocomplete": "username", "autocapitalize": "none", "spellcheck": "false",
            "maxlength": username.max_length,
        })
        password.widget = forms.PasswordInput(attrs={"autocomplete": "current-password"})
