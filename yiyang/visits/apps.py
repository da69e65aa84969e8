from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "yiyang.visits"
    label = "visits"
