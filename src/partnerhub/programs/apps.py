from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "partnerhub.programs"
    label = "programs"
    verbose_name = "Programs"
