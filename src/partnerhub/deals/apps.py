from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "partnerhub.deals"
    label = "deals"
    verbose_name = "Deal registration"

    def ready(self) -> None:
        from partnerhub.deals import metrics  # noqa: F401  (registers the deal tier metrics)
