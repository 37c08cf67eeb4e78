"""Stage 4: numeric models: first-click latency, the vectorised blast, Stripe fees, the decision."""
