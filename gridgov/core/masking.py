"""Masks shown by default wherever personal data appears (pages, API, exports)."""


def mask_id_number(value: str | None) -> str:
    """420881********1234: region and last four stay, birth date and sequence are hidden."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """138****5678 for mobiles; other numbers keep their first three and last four."""
    if not value:
        return ""
    digits = value.strip()
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(value: str | None) -> str:
    """李*艳 / 王* : the family name and the last character of a longer name."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_account(value: str | None) -> str:
    """Bank accounts: last four only."""
    if not value:
        return ""
    return "*" * max(len(value) - 4, 0) + value[-4:]
