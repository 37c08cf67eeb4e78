"""Building the SDK client the probe speaks through, and turning SDK failures into one line."""
from __future__ import annotations

from typing import Callable, TypeVar

import stripe

from blastpay.live.errors import LiveProbeError
from blastpay.live.recording import RecordingHTTPClient
from blastpay.live.redaction import redact_text

STRIPE_API_BASE = "https://api.stripe.com"

T = TypeVar("T")


def recording_client(
    api_key: str, base_url: str | None, inner: stripe.HTTPClient | None = None
) -> tuple[stripe.StripeClient, RecordingHTTPClient]:
    """A StripeClient on ``base_url`` (Stripe's own host when None) that records every exchange."""
    recorder = RecordingHTTPClient(inner or stripe.new_default_http_client(), secrets=(api_key,))
    client = stripe.StripeClient(
        api_key,
        base_addresses={"api": base_url} if base_url else None,
        http_client=recorder,
        max_network_retries=0,
    )
    return client, recorder


def describe_failure(exc: stripe.StripeError, step: str, base_url: str, secrets: tuple[str, ...]) -> LiveProbeError:
    """One line for a call that failed where the probe expected success."""
    if isinstance(exc, stripe.APIConnectionError):
        return LiveProbeError(f"cannot reach the Stripe API at {base_url} (step {step}); nothing was written")
    first_line = redact_text(str(exc.user_message or exc).splitlines()[0] if str(exc) else "", secrets)
    status = exc.http_status if exc.http_status is not None else "no status"
    return LiveProbeError(
        f"Stripe answered {status} {type(exc).__name__} at step {step}: {first_line}; nothing was written"
    )


def call(recorder: RecordingHTTPClient, step: str, base_url: str, action: Callable[[], T]) -> T:
    """Run one SDK call labelled ``step``; any Stripe failure becomes a LiveProbeError."""
    with recorder.step(step):
        try:
            return action()
        except stripe.StripeError as exc:
            raise describe_failure(exc, step, base_url, recorder.secrets) from None


def call_expecting_refusal(
    recorder: RecordingHTTPClient, step: str, base_url: str, action: Callable[[], T]
) -> T | stripe.InvalidRequestError:
    """Like ``call``, but a 4xx invalid-request answer is an outcome to record, not a failure."""
    with recorder.step(step):
        try:
            return action()
        except stripe.InvalidRequestError as exc:
            return exc
        except stripe.StripeError as exc:
            raise describe_failure(exc, step, base_url, recorder.secrets) from None
