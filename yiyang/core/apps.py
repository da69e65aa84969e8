from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "yiyang.core"
    label = "core"
