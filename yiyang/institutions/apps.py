from django.apps import AppConfig


class InstitutionsConfig(AppConfig):
    name = "yiyang.institutions"
    label = "institutions"
