"""/api/v1/webhooks: endpoints that receive the domain events as signed POSTs, and their
deliveries. Program admins only (``webhooks.*`` in core.permissions). Thin over services."""

from ninja import Query, Router, Status
from ninja.pagination import paginate

from partnerhub.core.api import ERROR_RESPONSES
from partnerhub.core.permissions import require
from partnerhub.core.schemas import ObjectId, Pagination
from partnerhub.webhooks import selectors, services
from partnerhub.webhooks.schemas import (
    WebhookDeliveryFilter,
    WebhookDeliveryOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPatch,
    WebhookEndpointSecretOut,
)

router = Router(tags=["webhooks"])
R = ERROR_RESPONSES
ADMINS_ONLY = selectors.ADMINS_ONLY


def _partner(request, partner_id):
    from partnerhub.partners.selectors import partner_get

    return (
        None if partner_id is None else partner_get(fetched_by=request.auth, partner_id=partner_id)
    )


@router.get("/endpoints", response=list[WebhookEndpointOut])
@paginate(Pagination)
def endpoint_list(request):
    return selectors.endpoint_list(fetched_by=request.auth)


@router.post("/endpoints", response={201: WebhookEndpointSecretOut, **R})
def endpoint_create(request, body: WebhookEndpointIn):
    require(request.auth, "webhooks.change_webhookendpoint", message=ADMINS_ONLY)
    endpoint = services.endpoint_create(
        actor=request.auth,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        partner=_partner(request, body.partner_id),
    )
    return Status(201, endpoint)


@router.get("/endpoints/{endpoint_id}", response={200: WebhookEndpointSecretOut, **R})
def endpoint_get(request, endpoint_id: ObjectId):
    return selectors.endpoint_get(fetched_by=request.auth, endpoint_id=endpoint_id)


@router.patch("/endpoints/{endpoint_id}", response={200: WebhookEndpointOut, **R})
def endpoint_update(request, endpoint_id: ObjectId, body: WebhookEndpointPatch):
    endpoint = selectors.endpoint_get(fetched_by=request.auth, endpoint_id=endpoint_id)
    require(request.auth, "webhooks.change_webhookendpoint", message=ADMINS_ONLY)
    changes = body.model_dump(exclude_unset=True)
    if "partner_id" in changes:
        changes["partner"] = _partner(request, changes.pop("partner_id"))
    for name in ("url", "event_types", "description", "is_active"):
        if name in changes and changes[name] is None:
            del changes[name]
    return services.endpoint_update(actor=request.auth, endpoint=endpoint, **changes)


@router.delete("/endpoints/{endpoint_id}", response={204: None, **R})
def endpoint_delete(request, endpoint_id: ObjectId):
    endpoint = selectors.endpoint_get(fetched_by=request.auth, endpoint_id=endpoint_id)
    require(request.auth, "webhooks.change_webhookendpoint", message=ADMINS_ONLY)
    services.endpoint_delete(actor=request.auth, endpoint=endpoint)
    return Status(204, None)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret", response={200: WebhookEndpointSecretOut, **R}
)
def secret_rotate(request, endpoint_id: ObjectId):
    endpoint = selectors.endpoint_get(fetched_by=request.auth, endpoint_id=endpoint_id)
    require(request.auth, "webhooks.change_webhookendpoint", message=ADMINS_ONLY)
    return services.secret_rotate(actor=request.auth, endpoint=endpoint)


@router.get("/endpoints/{endpoint_id}/deliveries", response=list[WebhookDeliveryOut])
@paginate(Pagination)
def delivery_list(request, endpoint_id: ObjectId, filters: Query[WebhookDeliveryFilter]):
    return selectors.delivery_list(
        fetched_by=request.auth, endpoint_id=endpoint_id, status=filters.status
    )


@router.post("/deliveries/{delivery_id}/retry", response={200: WebhookDeliveryOut, **R})
def delivery_retry(request, delivery_id: ObjectId):
    delivery = selectors.delivery_get(fetched_by=request.auth, delivery_id=delivery_id)
    require(request.auth, "webhooks.change_webhookendpoint", message=ADMINS_ONLY)
    return services.delivery_retry(actor=request.auth, delivery=delivery)
