from django.apps import AppConfig


class EldermodeConfig(AppConfig):
    name = "yiyang.eldermode"
    label = "eldermode"
