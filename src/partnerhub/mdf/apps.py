from django.apps import AppConfig


class MdfConfig(AppConfig):
    name = "partnerhub.mdf"
    label = "mdf"
    verbose_name = "Market development funds"
