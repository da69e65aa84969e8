from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "yiyang.assessments"
    label = "assessments"
