from django.apps import AppConfig


class TimebankConfig(AppConfig):
    name = "yiyang.timebank"
    label = "timebank"
