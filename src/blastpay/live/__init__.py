"""Verification of the emulator's Stripe rules against Stripe test mode.

``blastpay live probe`` records what Stripe answers to the calls the three primitives
depend on; ``recheck`` revisits the recorded objects a month later; ``compare`` replays
the probe against the emulator and lists where the two disagree; ``verification_table``
says, per emulator rule, whether a recorded probe confirmed it. The command line is
``blastpay.live.cli``.
"""
from blastpay.live.errors import LiveProbeError

__all__ = ["LiveProbeError"]
