"""The importer's fast paths give exactly what the shared helpers give (issue 3: speed without a
second set of rules): bulk encryption and blind indexes, the ID check digit, the row validation."""

import random
from datetime import date

import pytest
from django.test import override_settings

from gridgov.core import crypto
from gridgov.core.idcard import check_character, make_id_number
from gridgov.people.importing.checking import RowChecker
from gridgov.people.validation import ID_PURPOSE, PHONE_PURPOSE, clean_resident_data


def test_bulk_encryptor_writes_the_stored_form_that_decrypt_reads():
    encrypt = crypto.encryptor(ID_PURPOSE)
    token = encrypt("42088119850312001X")
    assert token.startswith(f"g1${crypto.active_algorithm()}${crypto.active_key_id()}$")
    assert crypto.decrypt(token, ID_PURPOSE) == "42088119850312001X"
    assert encrypt("42088119850312001X") != token  # a fresh nonce per value
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, PHONE_PURPOSE)  # the purpose is bound in


@override_settings(FIELD_ENCRYPTION_ALGORITHM="sm4-gcm")
def test_bulk_encryptor_follows_the_configured_algorithm():
    token = crypto.encryptor(PHONE_PURPOSE)("13807241234")
    assert token.split("$")[1] == crypto.ALG_SM4
    assert crypto.decrypt(token, PHONE_PURPOSE) == "13807241234"


@pytest.mark.parametrize("value", ["42088119850312001X", " 42088119850312001x ", "13807241234", "", "李"])
def test_bulk_blind_index_equals_blind_index(value):
    for purpose in (ID_PURPOSE, PHONE_PURPOSE):
        assert crypto.blind_indexer(purpose)(value) == crypto.blind_index(value, purpose)


def test_check_character_agrees_with_the_standard_and_refuses_non_digits():
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # GB 11643: W_i = 2^(i-1) mod 11, from the right
    rng = random.Random(3)
    for _ in range(2000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
        assert check_character(first17) == "10X98765432"[total % 11]
    assert check_character("11010519491231002") == "X"  # the standard's example
    for bad in ("1101051949123100A", "١١٠١٠٥١٩٤٩١٢٣١٠٠٢"[:17], "110105194912310"):
        with pytest.raises(ValueError):
            check_character(bad)


ID = make_id_number("420881", date(1985, 3, 12), 17)
CASES = [
    ("李春艳", ID, "13807241234", "务农"),
    ("李春艳", ID, 13807241234.0, ""),
    ("李春艳", ID, None, ""),
    ("Anna Li", ID.lower()[:-1] + ID[-1].lower(), "0724-4212345", "x" * 100),
    ("", ID, None, ""),
    ("李1", ID, None, ""),
    ("李春艳", ID[:-1] + ("0" if ID[-1] != "0" else "1"), None, ""),
    ("李春艳", "4208811985", None, ""),
    ("李春艳", "", None, ""),
    ("李春艳", ID, "1380724", ""),
    ("李春艳", ID, 7244212345.0, ""),
    ("李春艳", ID, "13807241234", "x" * 101),
    ("李春艳", make_id_number("420881", date(2099, 1, 1), 1), None, ""),
]


@pytest.mark.parametrize(("name", "id_text", "phone", "occupation"), CASES)
def test_fast_row_validation_agrees_with_clean_resident_data(name, id_text, phone, occupation):
    checker = RowChecker(today=date(2026, 12, 4), grids=set(), prefixes=())
    fast = checker._clean_fast(name, id_text, phone, occupation)
    raw = {"name": name, "id_number": id_text}
    if phone is not None:
        raw["phone"] = phone
    if occupation:
        raw["occupation"] = occupation
    full = clean_resident_data(raw, today=checker.today)
    if full.errors:
        assert fast is None
    else:
        assert fast == full.data
