"""Complexity is stated absolutely and the same way for every variant (cost/summary.json quotes these columns)."""

from blastpay.experiments import engineering_cost as ec


def test_every_variant_states_its_tables_workers_jobs_secrets_and_stripe_kinds():
    t = ec.table(orders=2, seed=1, variants=["ttl_24h", "payment_link_per_order"]).set_index("variant")
    for column in ("routes", "tables", "workers", "scheduled_jobs", "secrets", "stripe_object_kinds"):
        assert column in t.columns
    link = t.loc["payment_link_per_order"]
    # the chosen-option candidate's clean-up machinery is stated, not hidden by the relative-to-today count
    assert "stripe_tasks" in link.tables.split() and "stripe clean-up worker" in link.workers
    assert "STRIPE_SECRET_KEY" in link.secrets.split()
    assert set(link.stripe_object_kinds.split()) >= {"checkout.session", "payment_link"}


def test_the_line_count_is_product_code_only_not_the_money_checker_or_the_harness():
    t = ec.table(orders=2, seed=1, variants=["ttl_24h", "lazy_mint_db", "payment_link_per_order"])
    t = t.set_index("variant")
    for variant in t.index:
        modules = {part.split(":")[0] for part in t.loc[variant].flow_modules.split()}
        assert modules.isdisjoint({"invariants.py", "simulation.py", "harness.py"})
        assert "mitigations.py" in modules and "webhook_matcher.py" in modules  # the reminder and the matcher count
    assert "lazy_mint.py" in t.loc["lazy_mint_db"].flow_modules
    assert "payment_link.py" in t.loc["payment_link_per_order"].flow_modules


def test_moving_parts_are_counted_as_the_net_change_against_todays_flow():
    """What an option lets go counts as well as what it adds: lazy-mint needs no clean-up task table or worker."""
    t = ec.table(orders=2, seed=1, variants=["ttl_24h", "lazy_mint_db", "payment_link_per_order"]).set_index("variant")
    lazy, link = t.loc["lazy_mint_db"], t.loc["payment_link_per_order"]
    removed = lazy.removed_moving_parts.split("; ")
    assert set(removed) == {"stripe_tasks", "stripe clean-up worker"}
    assert lazy.net_moving_parts == lazy.new_moving_parts - 2
    assert link.removed_moving_parts == "" and link.net_moving_parts == link.new_moving_parts
    assert t.loc["ttl_24h"].net_moving_parts == 0
