"""blastpay: evidence and decision record for the payment-blast checkout primitive."""

__version__ = "0.1.0"
