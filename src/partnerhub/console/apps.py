from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "partnerhub.console"
    label = "console"
    verbose_name = "Vendor console"
