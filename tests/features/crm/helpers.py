"""Lookups the CRM feature's teacher may make before it answers (custom.helpers)."""


def find_contact(context: dict, name: str) -> list[dict]:
    """Contacts whose name contains `name` (case-insensitive)."""
    return [c for c in context["contacts"] if name.lower() in c["name"].lower()]


def get_deal(context: dict, deal_id: str, with_contacts: bool = False) -> dict:
    """A deal's stage and amount."""
    deal = next(d for d in context["deals"] if d["id"] == deal_id)
    return {**deal, "contacts": [c for c in context["contacts"] if c["company"] == deal["company"]]} if with_contacts else deal
