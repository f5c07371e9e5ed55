from datetime import date

from gridgov.core.idcard import make_id_number
from gridgov.people.validation import clean_resident_data, identity_fields

ID = make_id_number("420881", date(1956, 3, 8), 21)  # a man born 1956-03-08


def test_clean_full_row_derives_gender_and_birth_from_id():
    result = clean_resident_data({"name": "王必俊", "id_number": ID.lower(), "phone": "138 1234 5678",
                                  "residency_status": "流动", "ethnicity": "回", "political_status": "中共党员"})
    assert result.ok, result.errors
    assert result.data["gender"] == "male" and result.data["birth_date"] == date(1956, 3, 8)
    assert result.data["phone"] == "13812345678"
    assert result.data["residency_status"] == "floating"
    assert result.data["ethnicity"] == "回族"
    assert result.data["political_status"] == "party_member"


def test_each_bad_field_gets_its_own_message():
    result = clean_resident_data({"name": "", "id_number": ID[:-1] + ("0" if ID[-1] != "0" else "1"),
                                  "phone": "12345", "residency_status": "游客", "ethnicity": "火星族"})
    assert set(result.errors) == {"name", "id_number", "phone", "residency_status", "ethnicity"}
    assert "校验位错误" in result.errors["id_number"]
    assert "可选：户籍、常住、流动、外出务工" in result.errors["residency_status"]


def test_missing_id_is_required_unless_partial():
    assert "id_number" in clean_resident_data({"name": "张三", "gender": "男"}).errors
    assert clean_resident_data({"phone": "0724-4212345"}, partial=True).ok


def test_identity_fields_do_not_contain_the_number():
    fields = identity_fields(id_number=ID, phone="13812345678")
    assert fields["id_tail"] == ID[-4:]
    assert ID not in fields["id_number_index"] and len(fields["phone_index"]) == 64
