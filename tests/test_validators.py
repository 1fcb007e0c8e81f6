"""Specification of models.validators, and proof that app.fakes satisfies it."""

from __future__ import annotations

import random
from datetime import date
from typing import Callable, Optional

import pytest
from wtforms import Form, StringField

from app import fakes
from models.validators import (
    EMPTY_MESSAGE,
    FOREIGN_PERMANENT_MESSAGE,
    ID_CARD_BIRTH_MESSAGE,
    ID_CARD_CHECK_MESSAGE,
    ID_CARD_FORMAT_MESSAGE,
    ID_CARD_REGION_MESSAGE,
    MOBILE_MESSAGE,
    PLATE_MESSAGE,
    RESIDENCE_PERMIT_MESSAGE,
    USCC_ALPHABET,
    USCC_CHECK_MESSAGE,
    USCC_DEPARTMENT_MESSAGE,
    USCC_FORMAT_MESSAGE,
    IdCard,
    Mobile,
    Plate,
    Uscc,
    check_foreign_permanent,
    check_id_card,
    check_mobile,
    check_plate,
    check_residence_permit,
    check_uscc,
    id_card_check_char,
    normalize_code,
    normalize_id_card,
    normalize_mobile,
    normalize_plate,
    uscc_check_char,
)

# GB 11643-1999 textbook example, checked by hand (ISO 7064 MOD 11-2):
#   digits  1 1  0 1 0 5 1 9 4 9 1 2  3 1 0 0 2
#   weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
#   products 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167
#   167 % 11 = 2 -> (12 - 2) % 11 = 10 -> "X"
VALID_ID = "11010519491231002X"

# GB 32100-2015 example, checked by hand (M=21, Y=30 in 0-9A-HJ-NPQRTUWXY):
#   chars   9 1 3  5  0  1  0  0  M  0  0  0 1  0  0  Y  4
#   weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
#   products 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112 = 1640
#   1640 % 31 = 28 -> 31 - 28 = 3 -> "3"
VALID_USCC = "91350100M000100Y43"

SAMPLES = 500


def with_check_char(first17: str) -> str:
    """An ID number whose check digit is right, so only the rule under test fails."""
    return first17 + id_card_check_char(first17)


# --- empty input -------------------------------------------------------------


@pytest.mark.parametrize("check", [check_id_card, check_mobile, check_plate, check_uscc])
@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_empty_or_blank_value_is_refused_as_empty(check: Callable[[str], Optional[str]], value: str) -> None:
    assert check(value) == EMPTY_MESSAGE


# --- 居民身份证号码 -----------------------------------------------------------


def test_id_card_textbook_example_is_accepted() -> None:
    assert check_id_card(VALID_ID) is None


def test_id_card_lowercase_x_is_accepted() -> None:
    assert check_id_card(VALID_ID.lower()) is None


def test_id_card_surrounding_whitespace_is_ignored() -> None:
    assert check_id_card(f"  {VALID_ID}\n") is None


def test_id_card_normalisation_strips_and_upper_cases() -> None:
    assert normalize_id_card(" 11010519491231002x ") == VALID_ID


def test_id_card_check_digit_computation_matches_hand_arithmetic() -> None:
    assert id_card_check_char(VALID_ID[:17]) == "X"


def test_id_card_with_wrong_check_digit_is_refused() -> None:
    assert check_id_card(VALID_ID[:17] + "1") == ID_CARD_CHECK_MESSAGE


@pytest.mark.parametrize("value", [VALID_ID[:17], VALID_ID + "0", "110105194912310"])
def test_id_card_of_wrong_length_is_refused(value: str) -> None:
    assert check_id_card(value) == ID_CARD_FORMAT_MESSAGE


@pytest.mark.parametrize("value", ["1101051949123100X2", "11010519491231002Y", "1101051949-231002X"])
def test_id_card_with_non_digit_in_body_or_bad_check_char_is_refused(value: str) -> None:
    assert check_id_card(value) == ID_CARD_FORMAT_MESSAGE


def test_id_card_typed_with_full_width_digits_is_read_as_the_same_number() -> None:
    full_width = VALID_ID[:17].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "X"
    assert check_id_card(full_width) is None and normalize_id_card(full_width) == VALID_ID


@pytest.mark.parametrize("province", ["00", "10", "16", "20", "38", "47", "55", "66", "72", "84", "91"])
def test_id_card_with_unknown_province_code_is_refused(province: str) -> None:
    assert check_id_card(with_check_char(province + VALID_ID[2:17])) == ID_CARD_REGION_MESSAGE


@pytest.mark.parametrize("province", ["11", "15", "21", "37", "46", "50", "54", "65", "71", "81", "82", "83"])
def test_id_card_with_each_kind_of_valid_province_code_is_accepted(province: str) -> None:
    assert check_id_card(with_check_char(province + VALID_ID[2:17])) is None


@pytest.mark.parametrize("birth", ["19990230", "19990431", "19001301", "19000100", "21000229"])
def test_id_card_with_impossible_birth_date_is_refused(birth: str) -> None:
    assert check_id_card(with_check_char(f"110105{birth}002")) == ID_CARD_BIRTH_MESSAGE


def test_id_card_born_on_leap_day_is_accepted() -> None:
    assert check_id_card(with_check_char("11010520000229002")) is None


def test_id_card_born_before_1900_is_refused() -> None:
    assert check_id_card(with_check_char("11010518991231002")) == ID_CARD_BIRTH_MESSAGE


def test_id_card_born_on_1900_01_01_is_accepted() -> None:
    assert check_id_card(with_check_char("11010519000101002")) is None


def test_id_card_born_in_the_future_is_refused() -> None:
    number = with_check_char("11010520240102002")
    assert check_id_card(number, today=date(2024, 1, 1)) == ID_CARD_BIRTH_MESSAGE


def test_id_card_born_today_is_accepted() -> None:
    number = with_check_char("11010520240101002")
    assert check_id_card(number, today=date(2024, 1, 1)) is None


def test_id_card_rules_are_reported_in_order_format_region_birth_check() -> None:
    # A number breaking every later rule reports the earliest one only.
    assert check_id_card("00010519990230002Y") == ID_CARD_FORMAT_MESSAGE
    assert check_id_card("000105199902300021") == ID_CARD_REGION_MESSAGE
    assert check_id_card("110105199902300021") == ID_CARD_BIRTH_MESSAGE


# --- 手机号 -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["13812345678", "19912345678", "16612345678", " 15012345678 "])
def test_mobile_of_11_digits_starting_13_to_19_is_accepted(value: str) -> None:
    assert check_mobile(value) is None


@pytest.mark.parametrize("value", ["10012345678", "11012345678", "12012345678", "23812345678"])
def test_mobile_with_wrong_leading_digits_is_refused(value: str) -> None:
    assert check_mobile(value) == MOBILE_MESSAGE


@pytest.mark.parametrize("value", ["1381234567", "138123456789"])
def test_mobile_of_wrong_length_is_refused(value: str) -> None:
    assert check_mobile(value) == MOBILE_MESSAGE


@pytest.mark.parametrize("value", ["+8613812345678", "8613812345678", "008613812345678", "138-1234-5678",
                                   "138 1234 5678", "+86 138 1234 5678", "１３８１２３４５６７８"])
def test_mobile_typed_with_country_code_separators_or_full_width_digits_is_the_same_number(value: str) -> None:
    assert check_mobile(value) is None and normalize_mobile(value) == "13812345678"


@pytest.mark.parametrize("value", ["+86138123456789", "86 1381234567", "+85213812345678"])
def test_a_country_code_is_dropped_only_before_exactly_eleven_digits(value: str) -> None:
    assert check_mobile(value) == MOBILE_MESSAGE


# --- 车牌号 -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["京A12345", "沪B8K316", "粤BAB123", "川AZ999Z", "琼E00001"])
def test_ordinary_plate_is_accepted(value: str) -> None:
    assert check_plate(value) is None


@pytest.mark.parametrize("suffix", ["挂", "学", "警", "港", "澳"])
def test_ordinary_plate_with_special_last_character_is_accepted(suffix: str) -> None:
    assert check_plate(f"粤Z1234{suffix}") is None


@pytest.mark.parametrize("value", ["京AD12345", "沪AFK1234", "粤BDA1234", "京A12345D", "苏E12345F"])
def test_new_energy_plate_is_accepted(value: str) -> None:
    assert check_plate(value) is None


def test_lowercase_plate_is_accepted_after_normalising() -> None:
    assert check_plate(" 京ad12345 ") is None
    assert normalize_plate(" 京ad12345 ") == "京AD12345"


@pytest.mark.parametrize("value", ["京I12345", "京A1I345", "京AD1I345"])
def test_plate_with_letter_I_is_refused(value: str) -> None:
    assert check_plate(value) == PLATE_MESSAGE


@pytest.mark.parametrize("value", ["京O12345", "京A12O45"])
def test_plate_with_letter_O_is_refused(value: str) -> None:
    assert check_plate(value) == PLATE_MESSAGE


@pytest.mark.parametrize("value", ["港A12345", "A12345", "京12345", "AA12345"])
def test_plate_without_valid_province_and_authority_letter_is_refused(value: str) -> None:
    assert check_plate(value) == PLATE_MESSAGE


@pytest.mark.parametrize("value", ["京A1234", "京A1234567"])
def test_plate_of_wrong_length_is_refused(value: str) -> None:
    assert check_plate(value) == PLATE_MESSAGE


@pytest.mark.parametrize("value", ["京AL12345", "京AD1A345", "京A1234AD", "京A12345L"])
def test_six_character_plate_not_matching_new_energy_pattern_is_refused(value: str) -> None:
    assert check_plate(value) == PLATE_MESSAGE


@pytest.mark.parametrize("value", ["京A挂2345", "京A1234挂5"])
def test_plate_with_special_character_not_last_is_refused(value: str) -> None:
    assert check_plate(value) == PLATE_MESSAGE


@pytest.mark.parametrize("value", ["京A·12345", "京A 12345", "京a-12345", "京Ａ１２３４５"])
def test_plate_typed_with_a_middle_dot_space_or_full_width_is_the_same_plate(value: str) -> None:
    assert check_plate(value) is None and normalize_plate(value) == "京A12345"


def test_plate_message_names_the_expected_format() -> None:
    assert "京A12345" in PLATE_MESSAGE and "新能源" in PLATE_MESSAGE


# --- 统一社会信用代码 ---------------------------------------------------------


def test_uscc_standard_example_is_accepted() -> None:
    assert check_uscc(VALID_USCC) is None


def test_uscc_surrounding_whitespace_is_ignored() -> None:
    assert check_uscc(f" {VALID_USCC} ") is None


def test_uscc_with_wrong_check_character_is_refused() -> None:
    assert check_uscc(VALID_USCC[:17] + "4") == USCC_CHECK_MESSAGE


def test_uscc_check_value_31_is_written_as_0() -> None:
    # the 17 characters weigh 0 mod 31 (31 - 0 = 31), which the standard writes as "0"
    assert uscc_check_char("0" * 17) == "0"


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_uscc_with_letter_outside_the_alphabet_is_refused(letter: str) -> None:
    assert check_uscc(VALID_USCC[:8] + letter + VALID_USCC[9:]) == USCC_FORMAT_MESSAGE


@pytest.mark.parametrize("value", [VALID_USCC[:17], VALID_USCC + "3"])
def test_uscc_of_wrong_length_is_refused(value: str) -> None:
    assert check_uscc(value) == USCC_FORMAT_MESSAGE


def test_uscc_in_lower_case_is_read_as_upper_case() -> None:
    assert check_uscc(VALID_USCC.lower()) is None and normalize_code(VALID_USCC.lower()) == VALID_USCC


@pytest.mark.parametrize("department, kind, allowed", [
    ("9", "1", True), ("9", "2", True), ("9", "3", True), ("9", "4", False),  # 工商: 企业/个体/合作社 only
    ("5", "1", True), ("5", "4", False), ("1", "1", True), ("Y", "1", True), ("Y", "2", False),
    ("0", "1", False), ("B", "1", False),
])
def test_uscc_registration_department_and_organisation_type_follow_gb_32100(department, kind, allowed) -> None:
    code = with_uscc_check(department + kind + VALID_USCC[2:17])
    assert (check_uscc(code) is None) is allowed
    if not allowed:
        assert check_uscc(code) == USCC_DEPARTMENT_MESSAGE


@pytest.mark.parametrize("division, allowed", [("110108", True), ("100000", True), ("990000", False),
                                                ("A10108", False)])
def test_uscc_digits_three_to_eight_are_an_administrative_division(division, allowed) -> None:
    code = with_uscc_check("91" + division + VALID_USCC[8:17])
    assert (check_uscc(code) is None) is allowed


def with_uscc_check(first17: str) -> str:
    return first17 + uscc_check_char(first17)


# --- 港澳台居民居住证 and 外国人永久居留身份证 -----------------------------------

@pytest.mark.parametrize("region", ["810000", "820000", "830000"])
def test_a_residence_permit_of_hong_kong_macao_or_taiwan_residents_is_accepted(region: str) -> None:
    assert check_residence_permit(with_check_char(region + VALID_ID[6:17])) is None


def test_a_residence_permit_number_outside_its_three_regions_is_refused() -> None:
    assert check_residence_permit(VALID_ID) == RESIDENCE_PERMIT_MESSAGE


def test_a_residence_permit_with_a_wrong_check_character_is_refused() -> None:
    number = with_check_char("830000" + VALID_ID[6:17])
    wrong = number[:17] + ("1" if number[17] != "1" else "2")
    assert check_residence_permit(wrong) == ID_CARD_CHECK_MESSAGE


def test_a_2023_foreign_permanent_residence_card_starts_with_9_and_carries_the_check_character() -> None:
    number = with_check_char("93" + "1" * 15)
    assert check_foreign_permanent(number) is None
    assert check_foreign_permanent(number[:17] + ("0" if number[17] != "0" else "1")) == ID_CARD_CHECK_MESSAGE
    assert check_foreign_permanent(with_check_char("83" + "1" * 15)) == FOREIGN_PERMANENT_MESSAGE


# --- fakes satisfy the validators --------------------------------------------


@pytest.mark.parametrize(
    ("generate", "check"),
    [
        (fakes.id_card, check_id_card),
        (fakes.mobile, check_mobile),
        (fakes.plate, check_plate),
        (lambda rng: fakes.plate(rng, province="粤", new_energy=True), check_plate),
        (fakes.uscc, check_uscc),
    ],
    ids=["id_card", "mobile", "plate", "new_energy_plate", "uscc"],
)
def test_every_generated_value_passes_its_validator(
    generate: Callable[[random.Random], str], check: Callable[[str], Optional[str]]
) -> None:
    rng = random.Random(20240101)
    failures = [(v, check(v)) for v in (generate(rng) for _ in range(SAMPLES)) if check(v) is not None]
    assert failures == []


def test_generated_new_energy_plate_has_six_characters_after_authority_letter() -> None:
    rng = random.Random(7)
    assert all(len(fakes.plate(rng, new_energy=True)) == 8 for _ in range(SAMPLES))


def test_generated_id_card_changed_check_character_is_refused() -> None:
    rng = random.Random(11)
    for _ in range(SAMPLES):
        number = fakes.id_card(rng)
        for wrong in set("0123456789X") - {number[-1]}:
            assert check_id_card(number[:-1] + wrong) == ID_CARD_CHECK_MESSAGE


def test_generated_id_card_with_any_single_digit_changed_is_refused() -> None:
    # MOD 11-2 detects every single-digit substitution; some also break region or date.
    rng = random.Random(12)
    for _ in range(50):
        number = fakes.id_card(rng)
        for position in range(17):
            for digit in set("0123456789") - {number[position]}:
                assert check_id_card(number[:position] + digit + number[position + 1 :]) is not None


def test_generated_uscc_changed_check_character_is_refused() -> None:
    rng = random.Random(13)
    for _ in range(SAMPLES):
        code = fakes.uscc(rng)
        for wrong in set(USCC_ALPHABET) - {code[-1]}:
            assert check_uscc(code[:-1] + wrong) == USCC_CHECK_MESSAGE


def test_id_card_for_encodes_birth_date_and_sex() -> None:
    rng = random.Random(14)
    male = fakes.id_card_for(rng, date(1985, 6, 15), male=True, region_code="310104")
    female = fakes.id_card_for(rng, date(1985, 6, 15), male=False, region_code="310104")
    assert male.startswith("31010419850615") and int(male[16]) % 2 == 1
    assert int(female[16]) % 2 == 0
    assert check_id_card(male) is None and check_id_card(female) is None


def test_generated_id_card_birth_dates_stay_in_range() -> None:
    rng = random.Random(15)
    births = {fakes.id_card(rng, birth_from=date(1990, 1, 1), birth_to=date(1990, 1, 3))[6:14] for _ in range(100)}
    assert births == {"19900101", "19900102", "19900103"}


def test_generated_person_names_are_2_to_4_chinese_characters_with_known_surname() -> None:
    rng = random.Random(16)
    surnames = set(fakes.SURNAMES) | set(fakes.COMPOUND_SURNAMES)
    for _ in range(SAMPLES):
        name = fakes.person_name(rng)
        assert 2 <= len(name) <= 4
        assert all("\u4e00" <= c <= "\u9fff" for c in name)
        assert name[:1] in surnames or name[:2] in surnames


def test_common_surnames_dominate_generated_names() -> None:
    rng = random.Random(17)
    firsts = [fakes.person_name(rng)[0] for _ in range(2000)]
    assert firsts.count("王") > firsts.count("汤") * 5


def test_generators_are_deterministic_for_a_seed() -> None:
    def batch(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [fakes.person_name(rng), fakes.id_card(rng), fakes.mobile(rng), fakes.company_name(rng)]

    assert batch(99) == batch(99)


def test_generated_company_name_starts_with_city_and_ends_with_legal_form() -> None:
    rng = random.Random(18)
    name = fakes.company_name(rng, city="上海")
    assert name.startswith("上海") and name.endswith("公司")


# --- WTForms validator classes ------------------------------------------------


class ResidentForm(Form):
    id_card = StringField(validators=[IdCard()])
    mobile = StringField(validators=[Mobile()])
    plate = StringField(validators=[Plate()])
    uscc = StringField(validators=[Uscc()])


def test_form_validators_report_the_chinese_message_for_each_invalid_field() -> None:
    form = ResidentForm(
        data={"id_card": VALID_ID[:17] + "1", "mobile": "12345", "plate": "京I12345", "uscc": VALID_USCC[:17] + "4"}
    )
    assert not form.validate()
    assert form.errors == {
        "id_card": [ID_CARD_CHECK_MESSAGE],
        "mobile": [MOBILE_MESSAGE],
        "plate": [PLATE_MESSAGE],
        "uscc": [USCC_CHECK_MESSAGE],
    }


def test_form_validators_accept_valid_values() -> None:
    form = ResidentForm(data={"id_card": VALID_ID, "mobile": "13812345678", "plate": "京AD12345", "uscc": VALID_USCC})
    assert form.validate(), form.errors


@pytest.mark.parametrize("empty", [None, "", "  "])
def test_form_validators_leave_empty_fields_to_required_validators(empty: Optional[str]) -> None:
    form = ResidentForm(data={"id_card": empty, "mobile": empty, "plate": empty, "uscc": empty})
    assert form.validate(), form.errors


def test_form_validator_custom_message_replaces_the_default() -> None:
    class MobileForm(Form):
        mobile = StringField(validators=[Mobile(message="请填写业主手机号")])

    form = MobileForm(data={"mobile": "123"})
    assert not form.validate()
    assert form.mobile.errors == ["请填写业主手机号"]
