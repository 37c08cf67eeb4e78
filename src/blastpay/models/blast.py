"""Vectorised model of a payment blast: N parents emailed a link, each option/variant described by data.

What happens to one parent (every draw comes from a `Schedule`, so the same parents can be replayed through
every variant and through the emulator-driven flows):

* Emails. The first email goes out at t = 0. An optional reminder goes at `reminder_hours` to every order still
  unpaid then (with the default pay-on-first-visit of 1 and a live link, that is everyone who has not clicked).
  In the recovery variant, Stripe expires the unpaid session at its TTL and the recovery URL from the
  `checkout.session.expired` webhook is emailed at that moment to the parents whose consent allows it.
* Clicks. The first email is clicked at T0 ~ the latency model (np.inf for the 1 - p who never click). A
  second email (reminder, recovery) is answered with probability factor * p, the factor read from the sources
  (model.second_email_response_factor), after a fresh draw from the clickers' latency distribution F.
* Visits. A click on a live link reaches a payable page; the parent pays with probability
  `pay_on_first_visit`, otherwise leaves and comes back through the same email after a fresh draw from F,
  up to `max_visits` visits per email. Leaving does not expire an open session. A click on a dead link shows
  an expired page. Parents stop clicking once paid.
* Scanners. A share of parents sit behind a mail scanner that GETs every link they are sent at delivery. A
  scanner GET is a page load; where a GET mints a Checkout Session (lazy mint, Payment Link page, recovery URL)
  it mints one too; it never pays.
* Sessions. TTL-variant sessions are minted at send. A Payment Link or a recovery URL creates a new Checkout
  Session on every GET (stated assumption, following the recovery quote: "When the customer opens this URL, it
  creates a new Checkout Session"). Lazy mint reuses the order's open session while it is live and mints a new
  one with the Checkout TTL otherwise (an open session with less than `reuse_margin_h` left is not reused).
* The 30-day-TTL variant asks Stripe for a session that outlives the allowed window, so its blast fails: no
  email carries a payable link and every order strands.

Outcomes per parent: first click and whether it was payable, paid and when, human visits, page loads,
sessions minted, and `stranded` (clicked at least once, never paid, and the last visit hit a dead link) or
`gave_up` (clicked, never paid, the last visit was payable: only when pay_on_first_visit < 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from blastpay.models.latency import LatencyModel

VARIANTS = (
    "payment_link_per_order",
    "payment_link_per_product",
    "lazy_mint_hmac",
    "lazy_mint_db",
    "ttl_30d",
    "ttl_24h",
    "ttl_24h_recovery",
)

# Registry ids the variant data is read from.
SESSION_WINDOW_SOURCE = "checkout-expires-at-window"  # expires_at at most (and by default) 24 h after creation
SESSION_OVER_24H_ERROR_SOURCE = "checkout-expires-at-24h-error"
RECOVERY_LIFETIME_SOURCE = "checkout-recovery-url-lifetime"  # recovery URL usable for 30 days
PAYMENT_LINK_NO_EXPIRY_SOURCE = "payment-link-no-expiry-param"

# The TTL the 30-day patch asks Stripe for (the spike's Option 3), in hours.
PATCH_TTL_HOURS = 30 * 24.0
# Lazy mint redirects to the order's open session only if it has at least this long left, else mints anew;
# the same margin as the lazy-mint flow's REUSE_MARGIN (a test keeps the two equal).
LAZY_MINT_REUSE_MARGIN_H = 0.5

EACH_GET, REUSE_OPEN, NO_MINT = 0, 1, 2
EMAIL_KINDS = ("original", "reminder", "recovery")


class BlastModelError(ValueError):
    """Bad input to the blast model."""


@dataclass(frozen=True)
class Variant:
    """What a variant's email carries, how long it lives, and what a GET of it mints."""

    name: str
    option: str
    feasible: bool
    link_lifetime_h: float  # lifetime of the first email's URL from send (np.inf: never expires)
    get_mints: int  # EACH_GET, REUSE_OPEN or NO_MINT for a GET of the first email's URL
    sessions_at_send: int  # Checkout Sessions minted per order at blast time
    session_ttl_h: float  # TTL of a session minted on a GET (lazy-mint reuse window)
    stripe_objects_at_send: str
    recovery_lifetime_h: float | None = None  # set: a recovery URL is emailed when the session expires
    reuse_margin_h: float = 0.0  # lazy mint reuses an open session only if it lives this much longer
    infeasible_reason: str = ""
    source_ids: tuple[str, ...] = ()


def variant_specs(registry: Any, *, reuse_margin_h: float = LAZY_MINT_REUSE_MARGIN_H) -> dict[str, Variant]:
    """The seven variants, with lifetimes read from the sources registry."""
    window_h = _hours(registry, SESSION_WINDOW_SOURCE)
    recovery_h = _hours(registry, RECOVERY_LIFETIME_SOURCE)
    for sid in (SESSION_OVER_24H_ERROR_SOURCE, PAYMENT_LINK_NO_EXPIRY_SOURCE):
        registry.get(sid)  # fail early if a cited fact the variants rest on is missing
    ttl_30d_ok = PATCH_TTL_HOURS <= window_h
    common_ttl = dict(session_ttl_h=window_h)
    specs = [
        Variant("payment_link_per_order", "payment_links", True, np.inf, EACH_GET, 0,
                stripe_objects_at_send="one Payment Link per order (completed_sessions.limit=1)",
                source_ids=(PAYMENT_LINK_NO_EXPIRY_SOURCE,), **common_ttl),
        Variant("payment_link_per_product", "payment_links", True, np.inf, EACH_GET, 0,
                stripe_objects_at_send="one Payment Link per product, client_reference_id per order in the URL",
                source_ids=(PAYMENT_LINK_NO_EXPIRY_SOURCE,), **common_ttl),
        Variant("lazy_mint_hmac", "lazy_mint", True, np.inf, REUSE_OPEN, 0,
                stripe_objects_at_send="none (HMAC-signed token in the URL)", reuse_margin_h=reuse_margin_h,
                source_ids=(SESSION_WINDOW_SOURCE,), **common_ttl),
        Variant("lazy_mint_db", "lazy_mint", True, np.inf, REUSE_OPEN, 0,
                stripe_objects_at_send="none (random token row in the database)", reuse_margin_h=reuse_margin_h,
                source_ids=(SESSION_WINDOW_SOURCE,), **common_ttl),
        Variant("ttl_30d", "checkout_ttl", ttl_30d_ok, PATCH_TTL_HOURS, NO_MINT, 1 if ttl_30d_ok else 0,
                stripe_objects_at_send="one Checkout Session per order with expires_at = send + 30 days",
                infeasible_reason="" if ttl_30d_ok else (
                    f"expires_at of {PATCH_TTL_HOURS:g} h exceeds the {window_h:g} h Stripe allows; "
                    "session creation fails at blast time"),
                source_ids=(SESSION_WINDOW_SOURCE, SESSION_OVER_24H_ERROR_SOURCE), **common_ttl),
        Variant("ttl_24h", "checkout_ttl", True, window_h, NO_MINT, 1,
                stripe_objects_at_send="one Checkout Session per order with the maximum expires_at",
                source_ids=(SESSION_WINDOW_SOURCE,), **common_ttl),
        Variant("ttl_24h_recovery", "checkout_ttl", True, window_h, NO_MINT, 1,
                stripe_objects_at_send="one Checkout Session per order with after_expiration.recovery enabled",
                recovery_lifetime_h=recovery_h,
                source_ids=(SESSION_WINDOW_SOURCE, RECOVERY_LIFETIME_SOURCE), **common_ttl),
    ]
    return {v.name: v for v in specs}


def _hours(registry: Any, source_id: str) -> float:
    from blastpay.sources.registry import SourcesError

    try:
        return registry.figure_in(source_id, "hours")
    except SourcesError as exc:
        raise BlastModelError(str(exc)) from None


def _default_registry() -> Any:
    from blastpay.config import SOURCES_DIR
    from blastpay.sources.registry import load_registry

    return load_registry(SOURCES_DIR)


def resolve_variant(variant: str | Variant, registry: Any = None) -> Variant:
    if isinstance(variant, Variant):
        return variant
    if variant not in VARIANTS:
        raise BlastModelError(f"unknown variant {variant!r} (choose from {', '.join(VARIANTS)})")
    return variant_specs(registry if registry is not None else _default_registry())[variant]


# --------------------------------------------------------------------------------------------------------------
# Random draws


@dataclass
class Schedule:
    """Every random draw for n parents, independent of the variant (so variants share one sample)."""

    n: int
    first_latency_h: np.ndarray  # (n,) hours to first click on the first email; inf: never clicks
    scanned: np.ndarray  # (n,) bool: a mail scanner GETs every link this parent is sent, at delivery
    responds: np.ndarray  # (3, n) bool per email kind (row 0 = first email: finite first_latency_h)
    latency_h: np.ndarray  # (3, n) hours from that email's send to the first click on it
    recovery_consent: np.ndarray  # (n,) bool: the recovery email may be sent to this parent
    return_delays_h: np.ndarray  # (3, n, max_visits - 1) hours between successive visits through one email
    pays_on_visit: np.ndarray  # (3, n, max_visits) bool: the parent pays if this visit reaches a payable page
    pay_on_first_visit: float = 1.0
    scanner_share: float = 0.0
    second_email_response_factor: float = 0.5
    p: float = 1.0

    @property
    def max_visits(self) -> int:
        return self.pays_on_visit.shape[2]


def draw_schedule(
    model: LatencyModel,
    n: int,
    rng: np.random.Generator,
    *,
    scanner_share: float = 0.0,
    pay_on_first_visit: float = 1.0,
    max_visits: int = 4,
    recovery_consent_share: float = 1.0,
    second_email_response_factor: float | None = None,
) -> Schedule:
    """Draw a shared sample of n parents (first-click times, scanners, second-email responses, returns)."""
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise BlastModelError(f"n must be a non-negative integer, got {n!r}")
    for label, value in (("scanner_share", scanner_share), ("pay_on_first_visit", pay_on_first_visit),
                         ("recovery_consent_share", recovery_consent_share)):
        if not 0.0 <= value <= 1.0:
            raise BlastModelError(f"{label} must be between 0 and 1, got {value!r}")
    if pay_on_first_visit == 0.0:
        raise BlastModelError("pay_on_first_visit must be above 0 (no parent would ever pay)")
    if not isinstance(max_visits, int) or max_visits < 1:
        raise BlastModelError(f"max_visits must be a positive integer, got {max_visits!r}")
    factor = model.second_email_response_factor if second_email_response_factor is None else second_email_response_factor
    if not 0.0 <= factor * model.p <= 1.0:
        raise BlastModelError(f"second_email_response_factor {factor!r} times p={model.p} is not a probability")
    visits = 1 if pay_on_first_visit >= 1.0 else max_visits  # with certain payment no parent returns

    first = model.sample_first_click(rng, n)
    scanned = rng.random(n) < scanner_share
    responds = np.empty((3, n), dtype=bool)
    latency = np.empty((3, n))
    responds[0] = np.isfinite(first)
    latency[0] = first
    for k in (1, 2):
        responds[k] = rng.random(n) < factor * model.p
        latency[k] = model.sample_clicker_latency(rng, n)
    consent = rng.random(n) < recovery_consent_share
    delays = np.stack([model.sample_clicker_latency(rng, n * (visits - 1)).reshape(n, visits - 1) for _ in range(3)])
    pays = rng.random((3, n, visits)) < pay_on_first_visit
    return Schedule(n, first, scanned, responds, latency, consent, delays, pays,
                    pay_on_first_visit=pay_on_first_visit, scanner_share=scanner_share,
                    second_email_response_factor=factor, p=model.p)


# --------------------------------------------------------------------------------------------------------------
# Evaluation of one variant on a schedule


@dataclass
class _Get:
    t: np.ndarray
    happened: np.ndarray
    expiry: np.ndarray
    mints: np.ndarray
    actor: str
    email: str
    visit: int
    payable: np.ndarray | None = None
    pays: np.ndarray | None = None


@dataclass
class Outcome:
    """Per-parent arrays for one variant on one schedule."""

    variant: str
    blast_failed: bool
    first_click_h: np.ndarray
    first_click_payable: np.ndarray
    paid: np.ndarray
    pay_h: np.ndarray
    human_visits: np.ndarray
    page_loads: np.ndarray
    sessions_minted: np.ndarray
    stranded: np.ndarray
    gave_up: np.ndarray
    emails: np.ndarray
    gets: list[_Get] = field(default_factory=list, repr=False)


def evaluate(variant: Variant, schedule: Schedule, *, reminder_hours: float | None = None) -> Outcome:
    """Deterministic outcome of `variant` for the parents drawn in `schedule`."""
    n = schedule.n
    if reminder_hours is not None and not (np.isfinite(reminder_hours) and reminder_hours > 0):
        raise BlastModelError(f"reminder_hours must be a positive number of hours, got {reminder_hours!r}")
    if not variant.feasible:
        zeros = np.zeros(n, dtype=np.int64)
        return Outcome(variant.name, True, np.full(n, np.inf), np.zeros(n, bool), np.zeros(n, bool),
                       np.full(n, np.inf), zeros, zeros.copy(), zeros.copy(), np.ones(n, bool), np.zeros(n, bool),
                       zeros.copy())

    first_expiry = variant.link_lifetime_h  # absolute: first email sent at 0
    emails: list[tuple[int, float]] = [(0, 0.0)]
    if reminder_hours is not None:
        emails.append((1, float(reminder_hours)))
    if variant.recovery_lifetime_h is not None:
        emails.append((2, first_expiry))
    emails.sort(key=lambda e: (e[1], e[0]))

    pay_t = np.full(n, np.inf)
    email_count = np.zeros(n, dtype=np.int64)
    gets: list[_Get] = []
    reminder_sessions = np.zeros(n, dtype=np.int64)  # fresh sessions the reminder minted (24-hour variants)
    for kind, sent in emails:
        recipients = pay_t > sent
        if kind == 2:
            recipients &= schedule.recovery_consent
        email_count += recipients
        expiry = np.full(n, first_expiry)
        mints = np.full(n, variant.get_mints)
        if kind == 1 and variant.get_mints == NO_MINT and sent >= first_expiry:
            # the mitigation policy's reminder always carries a working link (experiments/mitigations.yaml): the
            # emailed session is dead, so the reminder carries a fresh Checkout Session with the variant's window
            expiry = np.full(n, sent + variant.session_ttl_h)
            reminder_sessions += recipients
        if kind == 2 or (kind == 1 and variant.recovery_lifetime_h is not None and sent >= first_expiry):
            # the recovery URL (or a reminder after expiry carrying it, for parents who got one)
            # (parents without consent got no recovery URL; their reminder carries the fresh session above)
            has_recovery = schedule.recovery_consent if kind == 1 else np.ones(n, bool)
            if kind == 1:
                reminder_sessions -= recipients & has_recovery
            expiry = np.where(has_recovery, first_expiry + variant.recovery_lifetime_h, expiry)
            mints = np.where(has_recovery, EACH_GET, mints)
        gets.append(_Get(np.full(n, sent), recipients & schedule.scanned, expiry, mints, "scanner",
                         EMAIL_KINDS[kind], 0))
        alive = recipients & schedule.responds[kind]
        t = sent + schedule.latency_h[kind]
        chain_pay = np.full(n, np.inf)
        for j in range(schedule.max_visits):
            if j > 0:
                t = t + schedule.return_delays_h[kind, :, j - 1]
            payable = t < expiry
            pays = alive & payable & schedule.pays_on_visit[kind, :, j]
            gets.append(_Get(t, alive.copy(), expiry, mints, "parent", EMAIL_KINDS[kind], j + 1, payable, pays))
            chain_pay = np.where(pays, t, chain_pay)
            alive &= ~pays
        pay_t = np.minimum(pay_t, chain_pay)

    # Visits after the order was paid (through another email) do not happen.
    for g in gets:
        g.happened = g.happened & (g.t <= pay_t)
        if g.pays is not None:
            g.pays = g.pays & (g.t == pay_t)

    first_click = np.full(n, np.inf)
    first_payable = np.zeros(n, bool)
    last_click = np.full(n, -np.inf)
    last_payable = np.zeros(n, bool)
    human = np.zeros(n, dtype=np.int64)
    loads = np.zeros(n, dtype=np.int64)
    sessions = np.full(n, variant.sessions_at_send, dtype=np.int64) + reminder_sessions
    for g in gets:
        loads += g.happened
        sessions += g.happened & (g.mints == EACH_GET) & (g.t < g.expiry)
        if g.actor != "parent":
            continue
        human += g.happened
        earlier = g.happened & (g.t < first_click)
        first_click = np.where(earlier, g.t, first_click)
        first_payable = np.where(earlier, g.payable, first_payable)
        later = g.happened & (g.t > last_click)
        last_click = np.where(later, g.t, last_click)
        last_payable = np.where(later, g.payable, last_payable)

    reuse = [g for g in gets if np.any(g.mints == REUSE_OPEN)]
    if reuse:
        times = np.stack([np.where(g.happened & (g.mints == REUSE_OPEN), g.t, np.inf) for g in reuse], axis=1)
        times.sort(axis=1)
        live_until = np.full(n, -np.inf)
        for col in times.T:
            mint = np.isfinite(col) & (col >= live_until - variant.reuse_margin_h)
            sessions += mint
            live_until = np.where(mint, col + variant.session_ttl_h, live_until)

    paid = np.isfinite(pay_t)
    clicked = np.isfinite(first_click)
    return Outcome(variant.name, False, first_click, first_payable, paid, pay_t, human, loads, sessions,
                   clicked & ~paid & ~last_payable, clicked & ~paid & last_payable, email_count, gets)


# --------------------------------------------------------------------------------------------------------------
# Public entry points


def simulate_parents(
    variant: str | Variant,
    model: LatencyModel,
    n: int,
    rng: np.random.Generator,
    *,
    reminder_hours: float | None = None,
    registry: Any = None,
    schedule: Schedule | None = None,
    **draw_kwargs: Any,
) -> pd.DataFrame:
    """One row per parent: the draws and the outcome, for small n (shared samples, emulator comparison).

    Pass `schedule` to evaluate a sample drawn earlier (then n, rng and draw_kwargs are ignored).
    """
    spec = resolve_variant(variant, registry)
    sched = schedule if schedule is not None else draw_schedule(model, n, rng, **draw_kwargs)
    out = evaluate(spec, sched, reminder_hours=reminder_hours)
    return pd.DataFrame({
        "parent": np.arange(sched.n),
        "variant": spec.name,
        "first_email_latency_h": sched.first_latency_h,
        "scanned": sched.scanned,
        "first_click_h": out.first_click_h,
        "first_click_payable": out.first_click_payable,
        "paid": out.paid,
        "pay_h": out.pay_h,
        "human_visits": out.human_visits,
        "page_loads": out.page_loads,
        "sessions_minted": out.sessions_minted,
        "emails": out.emails,
        "stranded": out.stranded,
        "gave_up": out.gave_up,
    })


def parent_events(variant: str | Variant, schedule: Schedule, *, reminder_hours: float | None = None,
                  registry: Any = None) -> pd.DataFrame:
    """Every GET that happens, in time order: what an emulator-driven run must replay for the same sample.

    Columns: parent, t_h, actor (parent|scanner), email (original|reminder|recovery), visit (0 for a scanner),
    link_live (the URL had not expired), pays (this visit completes the payment).
    """
    spec = resolve_variant(variant, registry)
    out = evaluate(spec, schedule, reminder_hours=reminder_hours)
    frames = []
    for g in out.gets:
        idx = np.flatnonzero(g.happened)
        frames.append(pd.DataFrame({
            "parent": idx, "t_h": g.t[idx], "actor": g.actor, "email": g.email, "visit": g.visit,
            "link_live": (g.t < g.expiry)[idx], "pays": (g.pays[idx] if g.pays is not None else False),
        }))
    if not frames:
        return pd.DataFrame(columns=["parent", "t_h", "actor", "email", "visit", "link_live", "pays"])
    return pd.concat(frames, ignore_index=True).sort_values(["t_h", "parent"], kind="stable").reset_index(drop=True)


def _advance(progress: Any, k: int) -> None:
    if progress is None:
        return
    if hasattr(progress, "update"):
        progress.update(k)
    else:
        progress(k)


def simulate(
    variant: str | Variant,
    model: LatencyModel,
    n: int,
    rng: np.random.Generator,
    *,
    reminder_hours: float | None = None,
    scanner_share: float = 0.0,
    pay_on_first_visit: float = 1.0,
    max_visits: int = 4,
    recovery_consent_share: float = 1.0,
    second_email_response_factor: float | None = None,
    registry: Any = None,
    chunk_size: int = 250_000,
    progress: Callable[[int], Any] | Any = None,
) -> dict[str, Any]:
    """Blast n parents through one variant; returns the metrics (shares are of all n orders unless named).

    `progress` is called with the number of parents done after each chunk (a callable, or an object with
    `.update(k)` such as a tqdm bar). Results depend on chunk_size only through the order of random draws.
    """
    spec = resolve_variant(variant, registry)
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise BlastModelError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise BlastModelError(f"n must be a positive integer, got {n!r}")
    totals = dict(clicked=0, first_payable=0, paid=0, stranded=0, gave_up=0, human=0, loads=0, sessions=0, emails=0)
    pay_times = []
    done = 0
    while done < n:
        size = min(chunk_size, n - done)
        sched = draw_schedule(model, size, rng, scanner_share=scanner_share, pay_on_first_visit=pay_on_first_visit,
                              max_visits=max_visits, recovery_consent_share=recovery_consent_share,
                              second_email_response_factor=second_email_response_factor)
        out = evaluate(spec, sched, reminder_hours=reminder_hours)
        totals["clicked"] += int(np.isfinite(out.first_click_h).sum())
        totals["first_payable"] += int(out.first_click_payable.sum())
        totals["paid"] += int(out.paid.sum())
        totals["stranded"] += int(out.stranded.sum())
        totals["gave_up"] += int(out.gave_up.sum())
        totals["human"] += int(out.human_visits.sum())
        totals["loads"] += int(out.page_loads.sum())
        totals["sessions"] += int(out.sessions_minted.sum())
        totals["emails"] += int(out.emails.sum())
        pay_times.append(out.pay_h[out.paid])
        done += size
        _advance(progress, size)

    paid = totals["paid"]
    times = np.concatenate(pay_times) if pay_times else np.empty(0)
    per_payment = (lambda x: x / paid) if paid else (lambda x: float("nan"))
    return {
        "variant": spec.name,
        "option": spec.option,
        "scenario": model.scenario,
        "parents": int(n),
        "feasible": spec.feasible,
        "blast_failed": not spec.feasible,
        "infeasible_reason": spec.infeasible_reason,
        "reminder_hours": reminder_hours,
        "scanner_share": scanner_share,
        "pay_on_first_visit": pay_on_first_visit,
        "click_share": totals["clicked"] / n,
        "first_click_payable_share": totals["first_payable"] / n,
        "first_click_payable_share_of_clickers": (totals["first_payable"] / totals["clicked"]
                                                  if totals["clicked"] else float("nan")),
        "paid_share": paid / n,
        "unpaid_share": 1.0 - paid / n,
        "stranded_share": totals["stranded"] / n,
        "stranded_share_of_clickers": (totals["stranded"] / totals["clicked"] if totals["clicked"]
                                       else (1.0 if not spec.feasible else float("nan"))),
        "gave_up_share": totals["gave_up"] / n,
        "time_to_payment_median_h": float(np.median(times)) if times.size else float("nan"),
        "time_to_payment_p90_h": float(np.quantile(times, 0.9)) if times.size else float("nan"),
        "clicks_per_payment": per_payment(totals["human"]),
        "page_loads_per_payment": per_payment(totals["loads"]),
        "sessions_minted_per_paid_order": per_payment(totals["sessions"]),
        "sessions_minted_per_order": totals["sessions"] / n,
        "emails_per_order": totals["emails"] / n,
    }
