"""Checkout call-site scanner: finds every place a basketball-api style
repository creates, links to, expires, handles or documents a Stripe
Checkout Session, and says what changes there under each option."""

from blastpay.scanner.cli import main
from blastpay.scanner.inventory import Inventory, InventoryError, Site, SkippedFile, inventory_from_dict, load_inventory
from blastpay.scanner.migration import OPTIONS, migration_checklist, site_change
from blastpay.scanner.report import to_json, to_markdown
from blastpay.scanner.scan_repo import ScanError, scan

__all__ = [
    "Inventory", "InventoryError", "OPTIONS", "ScanError", "Site", "SkippedFile", "inventory_from_dict",
    "load_inventory", "main", "migration_checklist", "scan", "site_change", "to_json", "to_markdown",
]
