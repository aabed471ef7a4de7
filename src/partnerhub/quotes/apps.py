from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "partnerhub.quotes"
    label = "quotes"
    verbose_name = "Quotes, credit lines and NFR"
