"""Validation of mainland-China identifiers: ID card, mobile, plate, USCC.

Every ``check_*`` function takes the raw string and returns ``None`` when it is
valid, or a short Chinese message for the user when it is not. They are pure
Python so they can be used from models, importers and scripts alike; the
WTForms wrappers at the bottom import wtforms only when they are called.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Callable, ClassVar, Optional
from models import clock

Check = Callable[[str], Optional[str]]

EMPTY_MESSAGE = "不能为空"

# --- how a typed value is written -------------------------------------------
# People type 138 0013 8000, +86 13800138000, full-width digits, 京A·12345 or a
# lower-case x: each is the same value. Normalised before checks, duplicate
# checks and storage (models.base.normalized; the check functions carry theirs).

_SEPARATORS = re.compile(r"[\s\-‐‑–—·・•．.]")


def compact(value: str) -> str:
    """NFKC (full-width to ASCII) without spaces, hyphens and middle dots."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or ""))


def normalize_code(value: str) -> str:
    """身份证号, 证件号码, 统一社会信用代码, 车牌号: compact and upper-case."""
    return compact(value).upper()


def normalize_mobile(value: str) -> str:
    """A mobile number without the country code (+86 / 0086 / 86)."""
    number = compact(value)
    for prefix in ("+86", "0086", "86"):
        if number.startswith(prefix) and len(number) == len(prefix) + 11:
            return number[len(prefix):]
    return number


# --- 居民身份证号码 (GB 11643-1999) -----------------------------------------

ID_CARD_FORMAT_MESSAGE = "身份证号应为18位：17位数字加1位校验码（数字或X）"
ID_CARD_REGION_MESSAGE = "身份证号地区码无效"
ID_CARD_BIRTH_MESSAGE = "身份证号出生日期无效"
ID_CARD_CHECK_MESSAGE = "身份证号校验位错误"

# [0-9] rather than \d: \d also matches full-width and other Unicode digits.
_ID_CARD_RE = re.compile(r"[0-9]{17}[0-9X]")
_PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)
#: 港澳台居民居住证 (2018): the 居民身份证 format, region 810000 / 820000 / 830000
_RESIDENCE_PERMIT_REGIONS = ("810000", "820000", "830000")
_ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# ISO 7064 MOD 11-2: the check value is (12 - sum % 11) % 11, with 10 written
# as X; indexing this string by sum % 11 gives the same result directly.
_ID_CARD_CHECK_CHARS = "10X98765432"
_EARLIEST_BIRTH = date(1900, 1, 1)


def normalize_id_card(value: str) -> str:
    """Form in which ID numbers are stored: no spaces, ASCII digits, upper-case X."""
    return normalize_code(value)


def id_card_check_char(first17: str) -> str:
    """Check character for the first 17 digits of an ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_CARD_WEIGHTS, strict=True))
    return _ID_CARD_CHECK_CHARS[total % 11]


def _parse_birth_date(yyyymmdd: str) -> Optional[date]:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:  # e.g. 19990230
        return None


def check_id_card(value: str, *, today: Optional[date] = None) -> Optional[str]:
    """Validate an 18-digit ID number; ``today`` is injectable for tests."""
    number = normalize_id_card(value)
    if not number:
        return EMPTY_MESSAGE
    if not _ID_CARD_RE.fullmatch(number):
        return ID_CARD_FORMAT_MESSAGE
    if number[:2] not in _PROVINCE_CODES:
        return ID_CARD_REGION_MESSAGE
    birth = _parse_birth_date(number[6:14])
    if birth is None or not _EARLIEST_BIRTH <= birth <= (today or clock.today()):
        return ID_CARD_BIRTH_MESSAGE
    if number[17] != id_card_check_char(number[:17]):
        return ID_CARD_CHECK_MESSAGE
    return None


RESIDENCE_PERMIT_MESSAGE = "港澳台居民居住证号码应以 810000、820000 或 830000 开头"
FOREIGN_PERMANENT_MESSAGE = "外国人永久居留身份证号码应为18位，以9开头，最后一位为校验码"


def check_residence_permit(value: str) -> Optional[str]:
    """港澳台居民居住证: a 居民身份证 number whose region is 810000, 820000 or 830000."""
    number = normalize_id_card(value)
    if not number:
        return EMPTY_MESSAGE
    if not number.startswith(_RESIDENCE_PERMIT_REGIONS):
        return RESIDENCE_PERMIT_MESSAGE
    return check_id_card(number)


def check_foreign_permanent(value: str) -> Optional[str]:
    """外国人永久居留身份证 (2023 edition): 18 characters starting with 9, the 居民身份证
    check character (GB 11643) over the first 17."""
    number = normalize_id_card(value)
    if not number:
        return EMPTY_MESSAGE
    if not (_ID_CARD_RE.fullmatch(number) and number[0] == "9"):
        return FOREIGN_PERMANENT_MESSAGE
    if number[17] != id_card_check_char(number[:17]):
        return ID_CARD_CHECK_MESSAGE
    return None


# --- 手机号 -----------------------------------------------------------------

MOBILE_MESSAGE = "手机号应为11位数字，以13-19开头"

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")


def check_mobile(value: str) -> Optional[str]:
    number = normalize_mobile(value)
    if not number:
        return EMPTY_MESSAGE
    if _MOBILE_RE.fullmatch(number) is None:
        return MOBILE_MESSAGE
    return None


# --- 机动车号牌 (GA 36) -----------------------------------------------------

PLATE_MESSAGE = "车牌号格式不正确，应为省份简称+发牌机关字母+5位号码（新能源为6位），如京A12345、京AD12345"

PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# I and O are never used on plates because they read as 1 and 0.
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_NEV_TYPES = "DABCEFGHJK"  # D = pure electric, F = other new-energy, rest reserved

_L = PLATE_LETTERS
_PLATE_RE = re.compile(
    rf"[{PLATE_PROVINCES}][{_L}]"
    rf"(?:[{_L}0-9]{{4}}[{_L}0-9挂学警港澳]"  # ordinary, 5 chars
    rf"|[{_NEV_TYPES}][{_L}0-9][0-9]{{4}}"  # small new-energy, 6 chars
    rf"|[0-9]{{5}}[{_NEV_TYPES}])"  # large new-energy, 6 chars
)


def normalize_plate(value: str) -> str:
    return normalize_code(value)


def check_plate(value: str) -> Optional[str]:
    plate = normalize_plate(value)
    if not plate:
        return EMPTY_MESSAGE
    if _PLATE_RE.fullmatch(plate) is None:
        return PLATE_MESSAGE
    return None


# --- 统一社会信用代码 (GB 32100-2015) ---------------------------------------

USCC_FORMAT_MESSAGE = "统一社会信用代码应为18位数字或大写字母（不含I、O、S、V、Z）"
USCC_CHECK_MESSAGE = "统一社会信用代码校验位错误"
USCC_DEPARTMENT_MESSAGE = "统一社会信用代码第1位（登记管理部门代码）或第2位（机构类别代码）无效"
USCC_REGION_MESSAGE = "统一社会信用代码第3–8位应为登记管理机关的行政区划代码"

#: GB 32100-2015 and its amendments: 登记管理部门代码 → the 机构类别代码 it issues
USCC_TYPES = {
    "1": "1239", "2": "19", "3": "1234569", "4": "19", "5": "1239", "6": "129",
    "7": "129", "8": "19", "9": "123", "A": "19", "N": "1239", "Y": "1",
}

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """Check character for the first 17 characters of a USCC."""
    total = sum(_USCC_VALUES[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(value: str) -> Optional[str]:
    code = normalize_code(value)
    if not code:
        return EMPTY_MESSAGE
    if len(code) != 18 or any(c not in _USCC_VALUES for c in code):
        return USCC_FORMAT_MESSAGE
    if code[1] not in USCC_TYPES.get(code[0], ""):
        return USCC_DEPARTMENT_MESSAGE
    # the registering authority's administrative division: a province (or 10, national)
    if not code[2:8].isdigit() or code[2:4] not in _PROVINCE_CODES | {"10"}:
        return USCC_REGION_MESSAGE
    if code[17] != uscc_check_char(code[:17]):
        return USCC_CHECK_MESSAGE
    return None


#: what each check normalises first (models.base.zh reads it for the column)
for _check, _normalize in ((check_id_card, normalize_id_card), (check_residence_permit, normalize_id_card),
                           (check_foreign_permanent, normalize_id_card), (check_mobile, normalize_mobile),
                           (check_plate, normalize_plate), (check_uscc, normalize_code)):
    _check.normalize = _normalize  # type: ignore[attr-defined]


# --- WTForms validators -----------------------------------------------------


class _CheckValidator:
    """Adapts a ``check_*`` function to the WTForms ``(form, field)`` protocol.

    Empty data passes, so the validators combine with ``Optional()`` and
    ``DataRequired()``, which own the required-ness decision.
    """

    check: ClassVar[Check]

    def __init__(self, message: Optional[str] = None) -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        data = field.data
        if data is None or not str(data).strip():
            return
        error = type(self).check(str(data))
        if error is not None:
            # Imported here so the check functions work without wtforms.
            from wtforms.validators import ValidationError

            raise ValidationError(self.message or error)


class IdCard(_CheckValidator):
    check = staticmethod(check_id_card)


class Mobile(_CheckValidator):
    check = staticmethod(check_mobile)


class Plate(_CheckValidator):
    check = staticmethod(check_plate)


class Uscc(_CheckValidator):
    check = staticmethod(check_uscc)
