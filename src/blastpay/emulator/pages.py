"""Plain HTML pages at the URLs the emulator hands out, so a browser can walk the journey.

Each function returns ``(status, html, location)``; ``location`` is set for redirects.
"""
from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from blastpay.emulator.errors import EmulatorError

Page = tuple[int, str, str | None]


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title></head><body><main>{body}</main></body></html>"
    )


def _message(title: str, message: str, status: int = 200) -> Page:
    return status, _document(title, f"<h1>{escape(title)}</h1><p class=\"message\">{escape(message)}</p>"), None


def _checkout(backend: Any, session: dict[str, Any], notice: str | None = None) -> Page:
    items = backend.line_items[session["id"]]
    rows = "".join(
        f"<li>{escape(str(i['description'] or 'Item'))} &times; {i['quantity']}: "
        f"{i['amount_total'] / 100:.2f} {escape(i['currency'].upper())}</li>"
        for i in items
    )
    total = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
    back = (
        f"<p><a class=\"back\" href=\"{escape(session['cancel_url'])}\">Back</a></p>" if session["cancel_url"] else ""
    )
    shown = f"<p class=\"notice\" role=\"alert\">{escape(notice)}</p>" if notice else ""
    action = f"/c/pay/{escape(session['id'])}"
    body = (
        f"{back}<h1>Pay {escape(total)}</h1><ul>{rows}</ul>{shown}"
        f"<form method=\"post\" action=\"{action}\">"
        "<button type=\"submit\" name=\"outcome\" value=\"succeeded\">Pay</button> "
        "<button type=\"submit\" name=\"outcome\" value=\"declined\">Pay with a card that is declined</button>"
        "</form>"
    )
    return 200, _document(f"Pay {total}", body), None


def session_page(backend: Any, session_id: str) -> Page:
    session = backend.stores["checkout.session"].get(session_id)
    if session is None:
        return _message("Not found", "There is no checkout page at this address.", 404)
    view = backend.visit(f"/c/pay/{session_id}")
    if view["page"] == "checkout":
        return _checkout(backend, session)
    title = "Session expired" if view["page"] == "expired" else "Payment complete"
    return _message(title, view["message"])


def pay_form(backend: Any, session_id: str, outcome: str) -> Page:
    try:
        result = backend.pay(session_id, outcome)
    except EmulatorError as exc:
        return _message("Payment refused", exc.message, exc.status)
    if result["outcome"] == "declined":
        return _checkout(backend, backend.stores["checkout.session"].objects[session_id], result["message"])
    return 303, _document("Redirecting", f"<a href=\"{escape(result['redirect'])}\">Continue</a>"), result["redirect"]


def _follow(backend: Any, url: str) -> Page:
    try:
        view = backend.visit(url)
    except EmulatorError as exc:
        return _message("Not found", exc.message, 404)
    if view["page"] == "checkout":
        location = f"/c/pay/{view['session']}"
        return 303, _document("Redirecting", f"<a href=\"{escape(location)}\">Continue</a>"), location
    title = {"inactive": "Link deactivated", "expired": "Link expired", "completed": "Payment complete"}[view["page"]]
    return _message(title, view["message"])


def link_page(backend: Any, code: str, query: dict[str, Any]) -> Page:
    flat = {k: v for k, v in query.items() if isinstance(v, str)}
    return _follow(backend, f"/b/{code}" + (f"?{urlencode(flat)}" if flat else ""))


def recovery_page(backend: Any, code: str) -> Page:
    return _follow(backend, f"/r/{code}")
