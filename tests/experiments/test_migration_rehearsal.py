"""Migration rehearsal: the safe order holds, each unsafe order produces the violation it should."""

import pytest

from blastpay import config
from blastpay.experiments import migration_rehearsal as mig
from blastpay.scanner.inventory import load_inventory
from blastpay.scanner.migration import migration_checklist


def test_safe_order_cuts_over_per_product_links_without_violations():
    record = mig.rehearse("payment_link_per_product", mig.SAFE_ORDER)
    assert record.violations == [] and record.paid == record.orders


def test_switching_the_matcher_before_old_sessions_drain_loses_old_payments_only_without_metadata():
    steps = mig.UNSAFE_ORDERS["matcher_switched_before_old_sessions_drain"]
    per_product = mig.rehearse("payment_link_per_product", steps)
    assert per_product.counts()[mig.PAYMENT_WITHOUT_PAID_ORDER] >= 1
    assert mig.rehearse("lazy_mint_db", steps).violations == []  # the new shape still carries metadata.order_id


def test_expiring_old_sessions_before_new_links_leaves_parents_at_dead_links():
    record = mig.rehearse("lazy_mint_hmac", mig.UNSAFE_ORDERS["old_sessions_expired_before_new_links"])
    assert record.counts()[mig.DEAD_LINK] == 2 and record.counts()[mig.STRANDED] == 0
    assert all("expired" in detail for _, _, detail in record.violations)


def test_emailing_pay_links_before_the_route_is_deployed_shows_not_found():
    record = mig.rehearse("lazy_mint_db", mig.UNSAFE_ORDERS["new_links_before_route_deployed"])
    assert [(k, "not_found" in d) for k, _, d in record.violations] == [(mig.DEAD_LINK, True)]


def test_matcher_view_reads_only_the_given_keys():
    event = {"type": "checkout.session.completed",
             "data": {"object": {"metadata": {"order_id": "7", "player_id": "1"}, "client_reference_id": "order_7",
                                 "payment_link": "plink_1", "recovered_from": None}}}
    obj = mig.matcher_view(frozenset({mig.REFERENCE}))(event)["data"]["object"]
    assert obj["metadata"] == {"player_id": "1"} and obj["client_reference_id"] == "order_7"
    assert obj["payment_link"] is None


def test_safe_order_orders_the_checklist():
    kinds = mig.site_kind_order(mig.SAFE_ORDER)
    assert kinds[:4] == ["new_route", "webhook_handler", "session_create", "expires_at"]
    inventory = load_inventory(config.ROOT / "experiments" / "call_sites.json")
    items = migration_checklist(inventory, "lazy_mint", order=kinds)
    assert items[0]["kind"] == "new_route"
    seen = list(dict.fromkeys(i["kind"] for i in items))
    assert seen == [k for k in kinds if k in seen]


def test_a_cut_over_order_must_list_every_step_once():
    with pytest.raises(mig.MigrationError, match="every step exactly once"):
        mig.check_steps(("deploy_new_path", "email_new_links"))
    with pytest.raises(mig.MigrationError, match="unknown cut-over step 'pray'"):
        mig.check_steps(("pray",))


def test_summary_safe_order_is_in_checklist_kinds():
    records = [mig.rehearse("payment_link_per_order", steps, order_name=name)
               for name, steps in (("safe", mig.SAFE_ORDER), *mig.UNSAFE_ORDERS.items())]
    s = mig.summary(records, variants=("payment_link_per_order", "ttl_30d"))
    assert s["safe_order"] == mig.site_kind_order(mig.SAFE_ORDER) and s["safe_order_held"]
    assert s["by_variant"]["ttl_30d"]["migration_rehearsal_violations"] is None
    mine = s["by_variant"]["payment_link_per_order"]
    assert mine["migration_rehearsal_violations"] == 0
    assert mine["unsafe_order_violations"] == sum(len(r.violations) for r in records[1:]) > 0
