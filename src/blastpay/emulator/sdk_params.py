"""The SDK's own typed parameter classes (``stripe/params/`` in stripe 16.x), per route the emulator serves.

A parameter the SDK defines for a route but the emulator does not model is refused with
``invalid_request_error`` (code ``parameter_unsupported``) naming it, never dropped; a name the SDK
does not define either is Stripe's ``Received unknown parameter``. ``tests/emulator/test_sdk_params.py``
sends every parameter of every class below and checks which of the two happened.
"""
from __future__ import annotations

import importlib
from functools import cache

from stripe._request_options import RequestOptions

# (method, route as in the wire's table) -> "module:Class" under stripe.params
SDK_PARAMS: dict[tuple[str, str], str] = {
    ("POST", "/v1/products"): "_product_create_params:ProductCreateParams",
    ("GET", "/v1/products"): "_product_list_params:ProductListParams",
    ("GET", "/v1/products/{id}"): "_product_retrieve_params:ProductRetrieveParams",
    ("POST", "/v1/products/{id}"): "_product_update_params:ProductUpdateParams",
    ("POST", "/v1/prices"): "_price_create_params:PriceCreateParams",
    ("GET", "/v1/prices"): "_price_list_params:PriceListParams",
    ("GET", "/v1/prices/{id}"): "_price_retrieve_params:PriceRetrieveParams",
    ("POST", "/v1/prices/{id}"): "_price_update_params:PriceUpdateParams",
    ("POST", "/v1/customers"): "_customer_create_params:CustomerCreateParams",
    ("GET", "/v1/customers"): "_customer_list_params:CustomerListParams",
    ("GET", "/v1/customers/{id}"): "_customer_retrieve_params:CustomerRetrieveParams",
    ("POST", "/v1/customers/{id}"): "_customer_update_params:CustomerUpdateParams",
    ("DELETE", "/v1/customers/{id}"): "_customer_delete_params:CustomerDeleteParams",
    ("POST", "/v1/checkout/sessions"): "checkout._session_create_params:SessionCreateParams",
    ("GET", "/v1/checkout/sessions"): "checkout._session_list_params:SessionListParams",
    ("GET", "/v1/checkout/sessions/{id}"): "checkout._session_retrieve_params:SessionRetrieveParams",
    ("POST", "/v1/checkout/sessions/{id}"): "checkout._session_update_params:SessionUpdateParams",
    ("POST", "/v1/checkout/sessions/{id}/expire"): "checkout._session_expire_params:SessionExpireParams",
    ("GET", "/v1/checkout/sessions/{id}/line_items"): "checkout._session_line_item_list_params:SessionLineItemListParams",
    ("POST", "/v1/payment_links"): "_payment_link_create_params:PaymentLinkCreateParams",
    ("GET", "/v1/payment_links"): "_payment_link_list_params:PaymentLinkListParams",
    ("GET", "/v1/payment_links/{id}"): "_payment_link_retrieve_params:PaymentLinkRetrieveParams",
    ("POST", "/v1/payment_links/{id}"): "_payment_link_update_params:PaymentLinkUpdateParams",
    ("GET", "/v1/payment_links/{id}/line_items"): "_payment_link_line_item_list_params:PaymentLinkLineItemListParams",
    ("GET", "/v1/payment_intents"): "_payment_intent_list_params:PaymentIntentListParams",
    ("GET", "/v1/payment_intents/{id}"): "_payment_intent_retrieve_params:PaymentIntentRetrieveParams",
    ("GET", "/v1/subscriptions"): "_subscription_list_params:SubscriptionListParams",
    ("GET", "/v1/subscriptions/{id}"): "_subscription_retrieve_params:SubscriptionRetrieveParams",
    ("DELETE", "/v1/subscriptions/{id}"): "_subscription_cancel_params:SubscriptionCancelParams",
    ("GET", "/v1/invoices"): "_invoice_list_params:InvoiceListParams",
    ("GET", "/v1/invoices/{id}"): "_invoice_retrieve_params:InvoiceRetrieveParams",
    ("GET", "/v1/invoices/{id}/lines"): "_invoice_list_lines_params:InvoiceListLinesParams",
    ("POST", "/v1/tax/registrations"): "tax._registration_create_params:RegistrationCreateParams",
    ("GET", "/v1/tax/registrations"): "tax._registration_list_params:RegistrationListParams",
    ("GET", "/v1/tax/registrations/{id}"): "tax._registration_retrieve_params:RegistrationRetrieveParams",
    ("GET", "/v1/events"): "_event_list_params:EventListParams",
    ("GET", "/v1/events/{id}"): "_event_retrieve_params:EventRetrieveParams",
    ("POST", "/v1/webhook_endpoints"): "_webhook_endpoint_create_params:WebhookEndpointCreateParams",
    ("GET", "/v1/webhook_endpoints"): "_webhook_endpoint_list_params:WebhookEndpointListParams",
    ("GET", "/v1/webhook_endpoints/{id}"): "_webhook_endpoint_retrieve_params:WebhookEndpointRetrieveParams",
    ("POST", "/v1/webhook_endpoints/{id}"): "_webhook_endpoint_update_params:WebhookEndpointUpdateParams",
    ("DELETE", "/v1/webhook_endpoints/{id}"): "_webhook_endpoint_delete_params:WebhookEndpointDeleteParams",
}

REQUEST_OPTIONS = frozenset(RequestOptions.__annotations__)  # api_key, idempotency_key, ...: not sent as parameters


@cache
def sdk_parameters(method: str, route: str) -> frozenset[str]:
    """Top-level parameter names the SDK's typed class defines for this route (empty if none is mapped)."""
    spec = SDK_PARAMS.get((method, route))
    if spec is None:
        return frozenset()
    module, _, name = spec.partition(":")
    cls = getattr(importlib.import_module(f"stripe.params.{module}"), name)
    names: set[str] = set()
    for klass in reversed(cls.__mro__):
        names.update(getattr(klass, "__annotations__", {}))
    return frozenset(names - REQUEST_OPTIONS)
