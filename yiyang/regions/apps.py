from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "yiyang.regions"
    label = "regions"
