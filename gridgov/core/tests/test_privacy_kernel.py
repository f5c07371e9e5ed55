from datetime import date

import pytest

from gridgov.core import crypto
from gridgov.core.idcard import IdNumberError, check_character, make_id_number, parse_id_number
from gridgov.core.masking import mask_account, mask_id_number, mask_name, mask_phone

VALID = "11010519491231002X"  # the example number printed in GB 11643-1999


def test_standard_example_number_is_valid():
    parsed = parse_id_number(VALID)
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.gender == "female"
    assert parsed.region_code == "110105"


def test_lowercase_x_and_spaces_are_normalised():
    assert parse_id_number(" 11010519491231002x ").value == VALID


@pytest.mark.parametrize(
    "raw,code,fragment",
    [
        ("", "id_empty", "不能为空"),
        ("11010519491231002", "id_length", "实际为 17 位"),
        ("1101051949123100211", "id_length", "实际为 19 位"),
        ("1101051949123100AX", "id_characters", "前 17 位应为数字"),
        ("99010519491231002X", "id_region", "不存在省级代码 99"),
        ("110000194912310021", "id_region", "应为县级代码"),
        ("110105194902300021", "id_birth_date", "19490230 不是有效日期"),
        ("110105189912310021", "id_birth_date", "早于 1900 年"),
        ("110105209912310021", "id_birth_date", "晚于今天"),
        ("110105194912310021", "id_check_digit", "最后一位应为 X，实际为 1"),
    ],
)
def test_each_fault_has_its_own_message(raw, code, fragment):
    with pytest.raises(IdNumberError) as err:
        parse_id_number(raw, today=date(2026, 11, 25))
    assert err.value.code == code
    assert fragment in err.value.message


def test_generated_numbers_validate_and_carry_gender():
    male = make_id_number("420881", date(1960, 5, 1), 11)
    female = make_id_number("420881", date(2015, 9, 30), 12)
    assert parse_id_number(male).gender == "male"
    assert parse_id_number(female).gender == "female"
    assert male[-1] == check_character(male[:17])


def test_masks():
    assert mask_id_number("420881199001011234") == "420881********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("李春艳") == "李*艳" and mask_name("王五") == "王*"
    assert mask_account("6222020200112233") == "************2233"
    assert mask_id_number("") == mask_phone(None) == ""


@pytest.mark.parametrize("algorithm", [crypto.ALG_AES, crypto.ALG_SM4])
def test_encrypt_round_trip_and_no_plaintext(algorithm):
    token = crypto.encrypt("420881199001011234", "resident.id_number", algorithm=algorithm)
    assert "420881199001011234" not in token and "1234" not in token.split("$")[2]
    assert crypto.decrypt(token, "resident.id_number") == "420881199001011234"
    # Same plaintext, fresh nonce: two encryptions differ.
    assert token != crypto.encrypt("420881199001011234", "resident.id_number", algorithm=algorithm)


def test_ciphertext_is_bound_to_its_field_and_tamper_evident():
    token = crypto.encrypt("13812345678", "resident.phone")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, "resident.id_number")
    head, payload = token.rsplit("$", 1)
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"{head}${flipped}", "resident.phone")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("plain text", "resident.phone")


def test_rotation_reads_old_key_and_writes_new(settings):
    import base64
    import os

    old = crypto.encrypt("13812345678", "resident.phone")
    settings.FIELD_ENCRYPTION_KEYS = {"k2": base64.b64encode(os.urandom(32)).decode(), **settings.FIELD_ENCRYPTION_KEYS}
    settings.FIELD_ENCRYPTION_KEY_ID = "k2"
    crypto.clear_caches()
    try:
        assert crypto.needs_rotation(old)
        assert crypto.decrypt(old, "resident.phone") == "13812345678"
        new = crypto.encrypt("13812345678", "resident.phone")
        assert new.split("$")[2] == "k2" and not crypto.needs_rotation(new)
    finally:
        crypto.clear_caches()


def test_blind_index_matches_equal_values_only():
    a = crypto.blind_index("11010519491231002x", "resident.id_number")
    assert a == crypto.blind_index("11010519491231002X ", "resident.id_number")
    assert a != crypto.blind_index("11010519491231002X", "resident.phone")
    assert "1101" not in a and len(a) == 64
