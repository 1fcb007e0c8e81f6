"""Deterministic fake data for demo estates.

Every generator takes a ``random.Random`` first, so a seeded rng reproduces the
same demo database, and every value passes the matching check in
``models.validators``.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from typing import Optional

from models.validators import (
    PLATE_LETTERS,
    USCC_ALPHABET,
    id_card_check_char,
    uscc_check_char,
)

# Roughly in order of frequency; weighted below so that 王/李/张 dominate.
SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# Zipf-like weights: rank 1 is about 25x as common as the last, close to census shape.
# precomputed cumulative weights: choices() would otherwise re-add them on every call
_SURNAME_CUM_WEIGHTS = tuple(itertools.accumulate(1 / (rank + 4) for rank in range(len(SURNAMES))))
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方")
_COMPOUND_SURNAME_RATE = 0.01

MALE_GIVEN_CHARS = tuple(
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林建国志兵峰东海晨阳文博"
    "毅昊然子轩天佑泽宏家豪振中永庆德福春生金山成武新荣立彬锋继光亮松洪卫"
)
FEMALE_GIVEN_CHARS = tuple(
    "芳娜敏静丽艳娟霞秀英玲桂兰萍红梅琳燕雪慧颖倩婷琪晶欣怡佳悦诗涵梓萱雨晓蕾思彤"
    "可馨一诺美玉凤云月翠珍淑巧丹洁露瑶莉薇亚楠春琴爱小娇媛妍荷蓉素冰"
)
_TWO_CHAR_GIVEN_RATE = 0.7

MOBILE_PREFIXES = (
    "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "158", "159",
    "166", "177", "180", "181", "185", "186", "187", "188", "189", "191", "198", "199",
)

DIGITS = "0123456789"
# Small new-energy plates: D = pure electric, F = plug-in hybrid and others.
_NEV_SMALL_TYPES = "DF"

COMPANY_BRANDS = (
    "安居", "嘉园", "华信", "恒泰", "瑞祥", "锦华", "鑫达", "宏远", "盛世", "和美",
    "康宁", "悦家", "中宇", "金域", "长安", "顺德", "泰和", "永盛", "佳和", "兴业",
)
COMPANY_TRADES = ("物业服务", "物业管理", "房地产开发", "建筑工程", "园林绿化", "保安服务", "家政服务", "停车管理")
COMPANY_FORMS = ("有限公司", "有限公司", "有限责任公司", "股份有限公司")  # repeated to weight it


def person_name(rng: random.Random, male: Optional[bool] = None) -> str:
    """A plausible full name such as 王建国 or 李晓燕; gender random if None."""
    if rng.random() < _COMPOUND_SURNAME_RATE:
        surname = rng.choice(COMPOUND_SURNAMES)
    else:
        surname = rng.choices(SURNAMES, cum_weights=_SURNAME_CUM_WEIGHTS)[0]
    if male is None:
        male = rng.random() < 0.5
    chars = MALE_GIVEN_CHARS if male else FEMALE_GIVEN_CHARS
    length = 2 if rng.random() < _TWO_CHAR_GIVEN_RATE else 1
    return surname + "".join(rng.choices(chars, k=length))


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choices(DIGITS, k=count))


def id_card_for(rng: random.Random, birth_date: date, male: bool, region_code: str = "110105") -> str:
    """ID number for a known person; ``region_code`` must start with a real province code."""
    # The last digit of the 3-digit sequence number encodes sex: odd = male.
    sex_digit = rng.choice("13579" if male else "02468")
    first17 = f"{region_code}{birth_date:%Y%m%d}{_digits(rng, 2)}{sex_digit}"
    return first17 + id_card_check_char(first17)


def id_card(
    rng: random.Random,
    region_code: str = "110105",
    birth_from: date = date(1940, 1, 1),
    birth_to: date = date(2004, 12, 31),
) -> str:
    """ID number with a random birth date in [birth_from, birth_to] and random sex."""
    birth = birth_from + timedelta(days=rng.randint(0, (birth_to - birth_from).days))
    return id_card_for(rng, birth, rng.random() < 0.5, region_code)


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + _digits(rng, 8)


def plate(rng: random.Random, province: str = "京", new_energy: bool = False) -> str:
    """A plate such as 京A12345, 京N8K316, or 京AD12345 when ``new_energy``."""
    prefix = province + rng.choice(PLATE_LETTERS)
    if new_energy:
        return prefix + rng.choice(_NEV_SMALL_TYPES) + rng.choice(PLATE_LETTERS + DIGITS) + _digits(rng, 4)
    # Real ordinary plates are mostly digits with at most a couple of letters.
    chars = list(_digits(rng, 5))
    for position in rng.sample(range(5), rng.randint(0, 2)):
        chars[position] = rng.choice(PLATE_LETTERS)
    return prefix + "".join(chars)


def uscc(rng: random.Random, region_code: str = "110105") -> str:
    """统一社会信用代码 of an ordinary company: 9 = registered by 工商, 1 = 企业."""
    first17 = "91" + region_code + "".join(rng.choices(USCC_ALPHABET, k=9))
    return first17 + uscc_check_char(first17)


def company_name(rng: random.Random, city: str = "北京") -> str:
    """A name such as 北京安居物业服务有限公司."""
    return city + rng.choice(COMPANY_BRANDS) + rng.choice(COMPANY_TRADES) + rng.choice(COMPANY_FORMS)
