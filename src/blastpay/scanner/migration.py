"""What changes at each inventoried site under each option, as checklist data.

Options: ``payment_links`` (Stripe Payment Links), ``lazy_mint`` (the email
carries ``/pay/{order_token}``; the route mints a fresh Checkout Session and
303-redirects) and ``ttl_30d`` (keep Checkout Sessions created at email time).
Stripe facts used: Checkout Session ``expires_at`` must be 30 minutes to 24
hours after creation (default 24 h); Payment Links have no ``expires_at`` and
stay usable until ``active=false``; Payment Link ``metadata`` is copied to the
Checkout Sessions it creates, which also carry ``payment_link``.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from blastpay.scanner.inventory import (
    DOC,
    EXPIRES_AT,
    SESSION_CREATE,
    TEMPLATE,
    TEST,
    URL_FLOW,
    WEBHOOK_HANDLER,
    Inventory,
    Site,
)

OPTIONS = ("payment_links", "lazy_mint", "ttl_30d")
NEW_ROUTE = "new_route"
DEFAULT_ORDER = (NEW_ROUTE, WEBHOOK_HANDLER, SESSION_CREATE, EXPIRES_AT, URL_FLOW, TEMPLATE, DOC, TEST)
STATUS_TO_ADD = "to add"
STATUS_NOTHING = "nothing to add"


def check_option(option: str) -> str:
    if option not in OPTIONS:
        raise ValueError(f"unknown option {option!r}; expected one of {', '.join(OPTIONS)}")
    return option


def _session_create(site: Site, option: str) -> dict:
    d = site.detail
    via = d.get("via_wrapper")
    target = d.get("calls") or "the session-creating call"
    if option == "payment_links":
        if via:
            return {"change": f"Keep calling {target}; it now returns a Payment Link URL. Remove any use of the "
                              "returned session's id/status here (a link has neither until a parent pays).",
                    "verify": "Test at this call site: the value it sends or stores starts with the Payment Link URL and "
                              "no stripe.checkout.Session.create call is made."}
        return {"change": f"Replace {target} with stripe.PaymentLink.create per order: same line items, metadata "
                          "order_id/player_id/product_id, restrictions.completed_sessions.limit=1, after_completion "
                          "redirect to the current success URL; store the plink id on the order and deactivate it "
                          "(active=false) once paid or cancelled.",
                "verify": "Against the Stripe fake: create the link, visit it on day 31 of the simulated clock, complete "
                          "payment; checkout.session.completed carries metadata.order_id and payment_link=plink_...; a "
                          "second visit is refused."}
    if option == "lazy_mint":
        if d.get("route"):
            return {"change": f"This route ({d['route']}) already calls {target} at request time: keep it as the "
                              "click-time mint, or fold it into GET /pay/{order_token} so every emailed link uses one path.",
                    "verify": "Route test: two requests 25 simulated hours apart each get a fresh open session (303 or URL)."}
        if via:
            return {"change": f"Stop calling {target} at email time: issue the order token instead and use "
                              "/pay/{order_token} as the link; no Stripe call remains here.",
                    "verify": "Test: running this code path makes no Stripe request and yields a /pay/ URL bound to the order."}
        return {"change": f"Keep {target}, but call it only from GET /pay/{{order_token}} at click time, with "
                          "expires_at omitted or at most now + 24 h; the order's metadata stays as it is.",
                "verify": "Click /pay/{token} twice, 25 simulated hours apart: each answers 303 to a different open session; "
                          "a paid order answers with the receipt page instead of a new session."}
    if via:
        return {"change": f"No change to this call of {target}; the session it yields expires at most 24 h after "
                          "creation, whatever its expires_at says (Stripe rejects a 30-day value).",
                "verify": "Test with a frozen clock: 24 h after this call the session it produced is expired in the Stripe fake."}
    return {"change": f"Keep {target}; its expires_at can be at most now + 24 h, so the emailed URL dies within a day "
                      "(Stripe rejects a 30-day value).",
            "verify": "Against the Stripe fake: expires_at = now + 30 days is refused with 'must be less than 24 hours'; "
                      "now + 24 h is accepted and the session is expired 24 h later."}


def _expires_at(site: Site, option: str) -> dict:
    d = site.detail
    source = d.get("source", "expires_at")
    label = d.get("classification", "unknown")
    within = d.get("within_stripe_limits")
    verdict = ("Stripe accepts this value" if within else "Stripe rejects this value (allowed: 30 min to 24 h)"
               if within is False else "the value could not be resolved statically")
    if option == "payment_links":
        today = label if source == "expires_at" else f"{source}, {label}"
        return {"change": f"Delete the expires_at argument, today {today}. Payment Links have no expiry parameter; "
                          "close a link with active=false instead.",
                "verify": "grep shows no expires_at in the link helper; a test deactivates a link and the visit is refused."}
    if option == "lazy_mint":
        return {"change": f"Set expires_at at mint time to at most now + 24 h (or omit it for Stripe's 24 h default); "
                          f"today: {source} ({label}; {verdict}).",
                "verify": "Test with a frozen clock: the minted session's expires_at - created is between 1800 and 86400 s."}
    return {"change": f"{source} ({label}): {verdict}. Cap it at now + 24 h; a 30-day session cannot be created.",
            "verify": "Test with a frozen clock: expires_at - created <= 86400 and the Stripe fake accepts the create."}


def _url_flow(site: Site, option: str) -> dict:
    d = site.detail
    sink, source = d.get("sink", "this sink"), d.get("source", "the session URL")
    if option == "payment_links":
        change = f"{sink} now receives the Payment Link URL instead of {source}; the URL stays valid until deactivated."
        verify = "Test: the rendered email/response contains the order's buy.stripe.com link, not a checkout session URL."
    elif option == "lazy_mint":
        change = (f"{sink} now receives the /pay/{{order_token}} URL instead of {source}; route handlers redirect "
                  "with 303 to a session minted at click time.")
        verify = "Test: the email/response contains /pay/<token> and no checkout.stripe.com URL; following it yields 303."
    else:
        change = f"No code change; {source} reaching {sink} stops working 24 h after the session was created."
        verify = "Test with a frozen clock: 24 h after creation the emailed session is expired in the Stripe fake."
    return {"change": change, "verify": verify}


def _webhook(site: Site, option: str) -> dict:
    d = site.detail
    matches = ", ".join(d.get("matches_on", []))
    if not matches and d.get("metadata_keys_named"):
        matches = "metadata " + "/".join(d["metadata_keys_named"]) + " (implied by the spike, not yet scanned)"
    matches = matches or "nothing recognised"
    if option == "payment_links":
        change = (f"Today matches on {matches}. Accept both shapes before cut-over: sessions created by the old helper "
                  "and sessions created by a Payment Link (same metadata.order_id, plus payment_link=plink_...). Keep "
                  "the old path until the last pre-cut-over session has expired (24 h).")
        verify = "Replay a signed checkout.session.completed for an old session and for a link-created session: both mark their order paid exactly once."
    elif option == "lazy_mint":
        change = (f"Today matches on {matches}. Keep metadata.order_id matching; one order can now have several "
                  "sessions (one per click), so fulfil once per order and ignore or refund a second completion.")
        verify = "Replay two checkout.session.completed events for one order from two minted sessions: the order is fulfilled once."
    else:
        change = f"No change (matches on {matches}); sessions keep the same metadata."
        verify = "Existing webhook tests pass unchanged."
    return {"change": change, "verify": verify}


def _template(site: Site, option: str) -> dict:
    names = ", ".join(site.detail.get("variables", [])) or "the link variable"
    if option == "payment_links":
        return {"change": f"{names} carries the Payment Link URL; drop any 'link expires' wording.",
                "verify": "Render the template in a test with a link URL and assert the href."}
    if option == "lazy_mint":
        return {"change": f"{names} carries https://<api-host>/pay/<order_token>; drop any 'link expires' wording.",
                "verify": "Render the template in a test and assert the href is the /pay/ URL for the order."}
    return {"change": f"{names} unchanged; add wording that the link works for 24 hours.",
            "verify": "Render the template in a test and assert the 24-hour wording is present."}


def _doc(site: Site, option: str) -> dict:
    text = site.detail.get("text", "")
    what = f"the lifetime statement {text!r}" if text else "every statement of how long a checkout session or link lives"
    if option == "payment_links":
        new = "payment links stay valid until deactivated (active=false) after payment or cancellation"
    elif option == "lazy_mint":
        new = "the emailed /pay/ link does not expire; each click mints a Checkout Session that lives at most 24 h"
    else:
        new = "Checkout Sessions expire at most 24 h after creation (Stripe limit); links in older emails are dead"
    return {"change": f"Rewrite {what} to say: {new}.",
            "verify": "Review: no remaining statement that a checkout session lasts longer than 24 hours (rescan lists none)."}


def _test(site: Site, option: str) -> dict:
    refs = "; ".join(site.detail.get("references", []))
    if option == "payment_links":
        change = f"Test touches {refs or 'the checkout flow'}: assert on PaymentLink.create arguments (metadata, restrictions) instead of expires_at/session URL."
    elif option == "lazy_mint":
        change = f"Test touches {refs or 'the checkout flow'}: assert the email carries /pay/<token>, and that the minted session's expires_at is within 24 h."
    else:
        change = f"Test touches {refs or 'the checkout flow'}: assert expires_at <= now + 24 h (a 30-day assertion encodes a value Stripe refuses)."
    return {"change": change, "verify": "The test fails on the old behaviour and passes on the new one."}


def _named(site: Site, option: str, base: dict) -> dict:
    """Adds a rescan reminder to sites that were named but not scanned."""
    if site.status == "scanned":
        return base
    named = site.detail.get("named_as")
    prefix = f"For the {named}: " if named else ""
    return {"change": prefix + base["change"],
            "verify": base["verify"] + " Rescan the repository first to pin file, symbol and line."}


_BY_KIND = {SESSION_CREATE: _session_create, EXPIRES_AT: _expires_at, URL_FLOW: _url_flow,
            WEBHOOK_HANDLER: _webhook, TEMPLATE: _template, DOC: _doc, TEST: _test}


def site_change(site: Site, option: str) -> dict:
    """{"change": ..., "verify": ...} for one site under one option."""
    check_option(option)
    fn = _BY_KIND.get(site.kind)
    if fn is None:
        return {"change": f"Review this {site.kind} site by hand.", "verify": "Reviewed."}
    return _named(site, option, fn(site, option))


def new_route_item(inventory: Inventory, option: str) -> dict:
    """The checklist entry for what must exist before any call site moves."""
    check_option(option)
    direct = [s for s in inventory.of_kind(SESSION_CREATE) if not s.detail.get("via_wrapper")]
    helper_file = direct[0].file if direct else None
    hooks = [s for s in inventory.of_kind(WEBHOOK_HANDLER) if s.file]
    if option == "payment_links":
        return {"kind": NEW_ROUTE, "file": helper_file, "symbol": None, "line": None, "status": STATUS_TO_ADD,
                "change": "Add a helper next to the existing session helper that creates (or reuses) one Payment Link per "
                          "order with metadata order_id/player_id/product_id and completed_sessions.limit=1, and a job "
                          "that deactivates links of paid or cancelled orders.",
                "verify": "Unit test against the Stripe fake: link metadata round-trips into checkout.session.completed; "
                          "the link is inactive after payment."}
    if option == "lazy_mint":
        routes_dir = PurePosixPath(hooks[0].file).parent.as_posix() if hooks else None
        return {"kind": NEW_ROUTE, "file": f"{routes_dir}/pay.py" if routes_dir else None, "symbol": None, "line": None,
                "status": STATUS_TO_ADD,
                "change": "Add GET /pay/{order_token}: look up the token (DB row bound to one order, unguessable, "
                          "revocable), refuse unknown/revoked tokens with 404 and paid orders with the receipt page, else "
                          "mint a Checkout Session through the existing helper and answer 303 to session.url.",
                "verify": "Route tests: unknown token 404, paid order no new session, open order 303 to a fresh session; "
                          "Stripe down gives a retry page, not a 500."}
    return {"kind": NEW_ROUTE, "file": None, "symbol": None, "line": None, "status": STATUS_NOTHING,
            "change": "No new route or helper.", "verify": "Nothing to verify."}


def migration_checklist(inventory: Inventory, option: str, order: list[str] | None = None) -> list[dict]:
    """Ordered checklist items: kind, file, symbol, line (or None), status, change, verify.

    ``order`` lists site kinds (and ``new_route``) in the order to migrate them;
    kinds it leaves out follow in the default order.
    """
    check_option(option)
    if order is None:
        sequence = list(DEFAULT_ORDER)
    else:
        unknown = [k for k in order if k not in DEFAULT_ORDER]
        if unknown:
            raise ValueError(f"unknown site kind {unknown[0]!r} in order; expected some of {', '.join(DEFAULT_ORDER)}")
        sequence = list(dict.fromkeys(order)) + [k for k in DEFAULT_ORDER if k not in order]
    items: list[dict] = []
    for kind in sequence:
        if kind == NEW_ROUTE:
            items.append(new_route_item(inventory, option))
            continue
        sites = sorted(inventory.of_kind(kind), key=lambda s: (bool(s.detail.get("via_wrapper")), s.file or "~", s.line or 0, s.symbol or ""))
        for s in sites:
            change = site_change(s, option)
            items.append({"kind": kind, "file": s.file, "symbol": s.symbol, "line": s.line, "status": s.status,
                          "change": change["change"], "verify": change["verify"]})
    return items
