from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "partnerhub.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from partnerhub.core import permissions  # noqa: F401  (registers the rules)

        register_audited_models()


def register_audited_models() -> None:
    """Every business object is audited here, in one list (secrets and noise excluded)."""
    from auditlog.registry import auditlog

    from partnerhub.accounts.models import ApiToken, User
    from partnerhub.charging.models import (
        ChargePoint,
        ChargePointHosting,
        Connector,
        CorporateBilling,
        Driver,
        ElectricityPrice,
        Evse,
        Location,
        Tariff,
        TariffAssignment,
        TariffGroup,
    )
    from partnerhub.deals.models import DealAttachment, DealExtension, DealRegistration
    from partnerhub.incentives.models import (
        PayoutRun,
        RebateClose,
        ReferralElection,
        SpiffCampaign,
        SpiffClaim,
    )
    from partnerhub.mdf.models import MdfAllocation, MdfClaim, MdfProof, MdfRequest
    from partnerhub.partners.models import (
        Contact,
        Invitation,
        Partner,
        PartnerApplication,
        PartnerUser,
        TrackMembership,
    )
    from partnerhub.programs.models import Program, ProgramVersion
    from partnerhub.quotes.models import CreditLine, NfrPurchase, Quote
    from partnerhub.sales.models import Product, ProductCategory
    from partnerhub.settlements.models import Contract, Payment, Statement
    from partnerhub.tiers.models import EvidenceItem, Nomination, TierOverride
    from partnerhub.training.models import (
        Certification,
        Competency,
        Course,
        Person,
        PersonCertification,
    )

    auditlog.register(User, exclude_fields=["password", "last_login"])
    auditlog.register(ApiToken, exclude_fields=["secret_hash", "last_used_at"])
    auditlog.register(Partner, exclude_fields=["updated_at"])
    auditlog.register(Contact, exclude_fields=["updated_at"])
    auditlog.register(PartnerUser)
    auditlog.register(TrackMembership)
    auditlog.register(Invitation)
    auditlog.register(PartnerApplication, exclude_fields=["updated_at"])
    auditlog.register(Program)
    auditlog.register(DealRegistration, exclude_fields=["updated_at"])
    auditlog.register(DealExtension)
    auditlog.register(DealAttachment)
    auditlog.register(ProgramVersion, exclude_fields=["definition", "source_yaml"])
    for model in (Course, Certification, Competency, Person, PersonCertification):
        auditlog.register(model, exclude_fields=["updated_at"])
    auditlog.register(ProductCategory)
    # Charging assets and tariffs (sessions are bulk-imported facts, not edited: not audited).
    for model in (Location, ChargePoint, Tariff, TariffGroup, CorporateBilling, Driver):
        auditlog.register(model, exclude_fields=["updated_at"])
    for model in (ElectricityPrice, ChargePointHosting, Evse, Connector, TariffAssignment):
        auditlog.register(model)
    # Settlement: statements written set-based by a run are recorded by the run itself,
    # finalisation by an explicit entry (settlements.services).
    auditlog.register(Contract, exclude_fields=["updated_at"])
    auditlog.register(Payment)
    auditlog.register(Statement, exclude_fields=["updated_at"])
    auditlog.register(Product, exclude_fields=["updated_at"])
    for model in (TierOverride, Nomination, EvidenceItem):
        auditlog.register(model)
    # MDF: allocations, requests (decisions), claims and their proof files (mdf app).
    auditlog.register(MdfRequest, exclude_fields=["updated_at"])
    for model in (MdfAllocation, MdfClaim, MdfProof):
        auditlog.register(model)
    # Quotes: credit lines, quotes (status changes) and NFR purchases (quotes app).
    for model in (CreditLine, Quote, NfrPurchase):
        auditlog.register(model, exclude_fields=["updated_at"])
    # Incentives: elections, SPIFF campaigns and claims (decisions), payout runs and rebate
    # closes (ledger entries are append-only facts written set-based: not audited).
    for model in (ReferralElection, SpiffCampaign, SpiffClaim, PayoutRun, RebateClose):
        auditlog.register(model)
