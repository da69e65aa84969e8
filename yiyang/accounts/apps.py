from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "yiyang.accounts"
    label = "accounts"
