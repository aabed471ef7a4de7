from django.apps import AppConfig


class SettlementsConfig(AppConfig):
    name = "partnerhub.settlements"
    label = "settlements"
    verbose_name = "Site-host settlements"

    def ready(self) -> None:
        # Audited here (this app's models); statements written set-based by a run are
        # recorded by the run itself, finalisation by an explicit entry (services._audit).
        from auditlog.registry import auditlog

        from partnerhub.settlements.models import Contract, Payment, Statement

        auditlog.register(Contract, exclude_fields=["updated_at"])
        auditlog.register(Payment)
        auditlog.register(Statement, exclude_fields=["updated_at"])
