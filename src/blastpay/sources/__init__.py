"""Stage 1: the sources registry, the one reader of committed inputs and their models (`schema`), Stripe facts."""
