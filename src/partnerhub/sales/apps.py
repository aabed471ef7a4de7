from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "partnerhub.sales"
    label = "sales"
    verbose_name = "Sales"
