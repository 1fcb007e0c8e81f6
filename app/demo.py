"""Demo data: 望京街道 of 北京市朝阳区 with its estates, owners, cars and equipment.

``load`` draws everything from one seeded ``random.Random`` and counts dates from
``REFERENCE_DATE``, so a seed always gives the same database; the one exception is
the contract kept expiring soon, which follows today so that it stays "soon".

Rows go in as Core bulk inserts with ids assigned here: the same generator fills
benchmark databases of 100,000 units, where one ORM object per row would take
many minutes, and reading ids back (RETURNING) halves the insert rate on SQLite.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app import audit, fakes, roles
from app.demo_assembly import load_assembly
from app.demo_fees import load_fees
from app.demo_fund import load_fund
from app.demo_operations import load_operations
from app.demo_oversight import load_oversight
from app.extensions import db
from models import clock
from models.access import UserScope
from models.base import Entity, batches, natural_key
from models.company import Department, Employee, PropertyCompany, ServiceContract
from models.estate import Building, Estate, Unit
from models.facility import Facility, FacilityEvent, MaintenancePlan
from models.parking import ParkingCard, ParkingSpace, Vehicle
from models.people import Owner, Resident, UnitOwnership
from models.region import Community, District, Street

Row = dict[str, Any]

#: "today" of the demo world; dates hang off it so that a seed reproduces the data
REFERENCE_DATE = date(2026, 11, 1)
MIN_ESTATES = 3
CENT = Decimal("0.01")

# --- region -----------------------------------------------------------------

#: the district's code doubles as the marker that the demo data is loaded
DISTRICT = {"name": "朝阳区", "code": "110105"}
STREET = {"name": "望京街道", "code": "110105026", "phone": "010-64722145"}
#: (name, code, phone, roads its estates front on)
COMMUNITIES = (
    ("花家地社区", "110105026001", "010-64713389", ("花家地街", "望京西路", "阜通东大街")),
    ("南湖东园社区", "110105026002", "010-64726120", ("南湖西路", "湖光中街", "利泽中街")),
)
ROADS = {name: roads for name, _code, _phone, roads in COMMUNITIES}

# --- estates and buildings --------------------------------------------------

FLAGSHIP_ESTATE = "望京花园"
#: days between delivery and the reference date: a 2010s tower estate, older small ones
ESTATE_AGE_DAYS = {True: (6 * 365, 12 * 365), False: (10 * 365, 25 * 365)}
#: 容积率 in hundredths: tower estates are denser (keyed by "mostly high-rise")
PLOT_RATIO = {True: (220, 320), False: (130, 190)}
ESTATE_PREFIXES = (
    "阳光", "金隅", "南湖", "花家地", "利泽", "方舟", "澳洲", "宝星", "融科", "远洋",
    "华鼎", "大西洋", "星源", "青年", "保利", "和平", "锦绣", "翠湖", "东湖", "博泰",
)
ESTATE_SUFFIXES = (
    "丽景", "嘉园", "家园", "雅苑", "名苑", "华庭", "新城", "公寓", "北里", "西园", "国际", "花园",
)

#: 多层 (no lift by the building code) and 高层 (lifts) buildings
LOW_RISE_FLOORS = (6,)
HIGH_RISE_FLOORS = tuple(range(18, 34))
ENTRANCES = (1, 2, 3, 4)
ROOMS_PER_FLOOR = (2, 3, 4)
#: the large estate is a modern tower estate; the small ones mostly older 多层
LARGE_HIGH_RISE_SHARE = 0.8
SMALL_HIGH_RISE_SHARE = 0.15
HIGH_RISE_STRUCTURES = ("shear_wall", "frame_shear")
LOW_RISE_STRUCTURES = ("brick", "frame")
#: every n-th building of the large estate has shops on the ground floor of entrance 1
SHOP_BUILDING_EVERY = 5

#: (status, share); the rest are owner_occupied
UNIT_STATUS_SHARES = (("unsold", 0.05), ("rented", 0.15), ("vacant", 0.08))
#: 建筑面积 in 0.01 ㎡, with most flats two- or three-bedroom
FLAT_AREA = (6000, 18000, 9500)  # low, high, mode
INNER_RATIO = (750, 850)  # 套内/建筑 in ‰: 15-25 % is 公摊
SUPPORT_BUILDINGS = (102, 106)  # 总建筑面积 in % of the residential buildings: 配套公建
#: first sales are titled within months of delivery, the rest are resales
RESALE_SHARE = 0.2

# --- people -----------------------------------------------------------------

BEIJING_ID_REGIONS = ("110105", "110108", "110101", "110102", "110106", "110114", "110115")
OTHER_ID_REGIONS = (
    "130102", "120101", "370102", "410105", "320102", "420102", "510104", "230103",
    "610103", "140105", "340104", "360102", "130682", "371302", "412702",
)
BEIJING_BORN_SHARE = 0.6
MULTI_UNIT_OWNER_SHARE = 0.05  # of owners, holding 2-3 units
CO_OWNED_UNIT_SHARE = 0.03  # of sold units, held 50/50 by a couple
FAMILY_SHARE = 0.4  # of owner-occupied units registering family members
FORMER_TENANT_SHARE = 0.1  # of rented units, with a moved-out tenant on file
MOVED_OUT_FAMILY_SHARE = 0.05
#: birth-year bands of owners and of the family members living with them
OWNER_BORN = (1945, 1998)
FAMILY_BORN = ((1948, 1995), (1998, 2020), (1936, 1958))  # spouse, child, parent
TENANT_BORN = (1960, 2004)
STAFF_BORN = (1966, 2003)
#: children this young have no mobile of their own
LAST_MOBILE_BIRTH_YEAR = 2010

# --- companies --------------------------------------------------------------

PROPERTY_COMPANIES = 3
OFFICE_ROADS = ("望京街", "广顺北大街", "阜通西大街", "来广营西路")
QUALIFICATIONS = ("grade1", "grade1", "grade2")
CREDIT_GRADES = ("AAA", "AA", "AA", "A")
CONTRACT_YEARS = 3
#: the large estate's contract runs out this many days after today
EXPIRING_IN_DAYS = (20, 50)
COMMISSION_SHARE = 0.3  # 酬金制; the rest 包干制
INSTALLERS = (
    "北京市设备安装工程集团有限公司", "北京城建安装集团有限公司", "北京住总建设安装工程有限责任公司",
)

DEPARTMENTS = ("客服部", "工程部", "秩序维护部", "环境部")
#: (岗位, 部门, 证书): a certificate is what 特种作业/特种设备 rules demand of the post
CORE_POSTS = (
    ("项目经理", "客服部", None),
    ("客服专员", "客服部", None),
    ("客服专员", "客服部", None),
    ("电工", "工程部", "低压电工作业证"),
    ("电工", "工程部", "低压电工作业证"),
    ("水暖工", "工程部", None),
)
LIFT_POST = ("电梯安全管理员", "工程部", "电梯安全管理员证")
ROTA_POSTS = (("秩序维护员", "秩序维护部", None), ("保洁员", "环境部", None), ("绿化工", "环境部", None))
ROTA_WEIGHTS = (5, 4, 1)
STAFF_RANGE = (15, 30)
UNITS_PER_EXTRA_EMPLOYEE = 80
LEFT_SHARE = 0.05
LONGEST_TENURE_DAYS = 3000  # staff turn over: nobody has been on site for more than ~8 years

# --- parking ----------------------------------------------------------------

SPACES_PER_UNIT = {True: 0.4, False: 0.25}  # large estate: underground garage
SPACE_AREA = {True: (1250, 1500), False: (1200, 1350)}  # 0.01 ㎡; garage bays are roomier
PRIVATE_SPACE_SHARE = 0.5  # only a garage has 产权车位 to sell; the rest are rented monthly...
TEMPORARY_SPACE_SHARE = 0.1  # ...or kept for visitors
SOLD_SPACE_SHARE = 0.85  # of private spaces; the developer still holds the others
RENTED_SPACE_SHARE = 0.8  # of monthly spaces
OCCUPIED_VISITOR_SHARE = 0.4
LOBBY_ACCESS_SHARE = 0.3  # large-estate cards that also open the lift lobby
LARGE_GARAGE_LEVELS = ("一", "二")
ZONES_PER_LEVEL = "ABCD"
SURFACE_ZONES = ("地面东区", "地面西区")
OTHER_PLATE_PROVINCES = "冀津晋鲁豫蒙辽黑"
LOCAL_PLATE_SHARE = 0.85
NEW_ENERGY_SHARE = 0.15
VEHICLE_TYPES = ("car", "suv", "mpv", "truck")
VEHICLE_TYPE_WEIGHTS = (60, 28, 10, 2)
VEHICLE_COLORS = ("白", "黑", "银", "灰", "蓝", "红", "棕")
VEHICLE_COLOR_WEIGHTS = (30, 25, 15, 12, 8, 6, 4)
CARLESS_OWNER_VEHICLE_SHARE = 0.15  # owners without a space who still park a car
CARD_SHARE = 0.9
CARD_COLORS = ("蓝", "白", "金")
TEMPORARY_CARDS = 2

# --- facilities -------------------------------------------------------------


@dataclass(frozen=True)
class Equipment:
    """A kind of equipment an estate has, with its upkeep plan."""

    name: str
    category: str
    models: tuple[str, ...]
    spec: str
    location: str
    price: tuple[int, int]  # 元
    life_years: int
    warranty_years: int
    upkeep: str
    cycle: str
    sets: int = 1  # separate rows: "1#消防泵", "2#消防泵"
    per_building: int = 0  # quantity per building; 0 = one


LIFT = Equipment(
    "电梯", "elevator",
    ("OTIS GeN2-MRL", "KONE MonoSpace 500", "Schindler 3300", "日立 HGP", "三菱 LEHY-III"),
    "载重1000kg 速度1.75m/s", "", (180_000, 320_000), 15, 2, "电梯半月维护保养（TSG T5002）", "half_month",
)
ESTATE_EQUIPMENT = (
    Equipment("消防泵", "fire", ("XBD8/30G-L", "XBD10/40-HY"), "流量30L/s 扬程80m", "地下一层消防泵房",
              (18_000, 45_000), 15, 2, "消防泵启泵试运行及巡检", "monthly", sets=2),
    Equipment("生活给水变频泵组", "water", ("ZWG-II-36-3", "DRL15-5"), "流量36m³/h", "地下一层生活水泵房",
              (60_000, 150_000), 15, 2, "水泵保养及二次供水水箱清洗消毒", "half_year"),
    Equipment("箱式变电站", "power", ("YBM-10/0.4-800", "ZGS11-630/10"), "800kVA 10/0.4kV", "小区东北角配电室",
              (300_000, 600_000), 25, 2, "变配电设备预防性试验", "yearly"),
    Equipment("视频监控系统", "cctv", ("DS-2CD3T46WD", "DH-IPC-HFW2433"), "400万像素网络摄像机", "监控中心",
              (80_000, 200_000), 8, 3, "监控设备检查及录像回放测试", "quarterly", per_building=6),
    Equipment("单元门禁系统", "access", ("DS-K1T341", "ZKTeco ProFace X"), "人脸识别+IC卡", "各单元入口",
              (40_000, 120_000), 8, 2, "门禁读卡器及闭门器检查", "monthly", per_building=2),
    Equipment("庭院照明", "lighting", ("LED-TYD-60W", "ZY-LED-40W"), "LED庭院灯 60W", "小区道路及广场",
              (30_000, 90_000), 10, 2, "庭院灯具巡查及更换", "monthly", per_building=4),
    Equipment("草坪修剪机", "greening", ("Husqvarna LC 353V", "本田 HRJ216"), "自走式 53cm", "绿化工具房",
              (3_000, 9_000), 6, 1, "绿化机械保养", "quarterly"),
)
CYCLE_DAYS = {"half_month": 15, "monthly": 30, "quarterly": 91, "half_year": 182, "yearly": 365}
#: (status, share); the rest are in_use
FACILITY_STATUS_SHARES = (("repairing", 0.04), ("stopped", 0.02))
EVENT_NOTES = {
    "purchase": "采购到货验收",
    "install": "安装调试完成，验收合格",
    "maintain": "例行保养",
    "repair": "故障维修，更换损坏部件",
}
UPKEEP_COST = {"maintain": (200, 2_000), "repair": (500, 8_000)}  # 元
INSTALLATION_COST = (3, 8)  # % of the price

# --- demo accounts ----------------------------------------------------------

#: (username, first_name, last_name, role); estate scoping comes later
DEMO_USERS = (
    ("admin", "管理员", "张", roles.ADMIN),
    ("manager_a", "经理", "王", roles.MANAGER),
    ("staff_a", "员工", "李", roles.STAFF),
    ("committee_a", "委员", "赵", roles.COMMITTEE),
    ("official_jd", "监督员", "刘", roles.OFFICIAL),
)
#: what each demo account is responsible for; the admin sees everything
DEMO_SCOPES = {"manager_a": "large_estate", "staff_a": "large_estate",
               "committee_a": "large_estate", "official_jd": "street"}
USERS_KEY = "演示账号"


# --- plumbing ---------------------------------------------------------------


class Writer:
    """Core bulk inserts with ids assigned here, counted per entity label."""

    BATCH = 20_000

    def __init__(self, session: Session) -> None:
        self.session = session
        self.counts: Counter[str] = Counter()
        self._next_id: dict[type[Entity], int] = {}

    def insert(self, model: type[Entity], rows: list[Row]) -> list[Row]:
        """Gives each row its id (in place) and inserts them; rows share one key set."""
        if not rows:
            return rows
        start = self._next_id.get(model)
        if start is None:  # the admin may have entered rows of their own before
            start = (self.session.scalar(select(func.max(model.id))) or 0) + 1
        for row_id, row in enumerate(rows, start):
            row["id"] = row_id
        self._next_id[model] = start + len(rows)
        for chunk in batches(rows, self.BATCH):
            self.session.execute(insert(model.__table__), chunk)
        self.counts[model.Admin.label] += len(rows)
        return rows

    def one(self, model: type[Entity], row: Row) -> int:
        return self.insert(model, [row])[0]["id"]

    def advance_sequences(self) -> None:
        """Explicit ids leave PostgreSQL's serial sequences behind the rows: catch them up."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        for model in self._next_id:
            table = model.__tablename__
            self.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            ))


def _between(rng: random.Random, start: date, end: date) -> date:
    """A day in [start, end] (``start`` itself when the range is empty)."""
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _days_before(rng: random.Random, day: date, low: int, high: int) -> date:
    return day - timedelta(days=rng.randint(low, high))


def _cents(amount: int) -> Decimal:
    """An exact two-decimal amount from an integer count of cents (12300 -> 123.00)."""
    return Decimal(amount).scaleb(-2)


def _ratio(rng: random.Random, low: int, high: int, places: int) -> Decimal:
    """A random factor such as 0.812 from integer bounds (812, 3 places)."""
    return Decimal(rng.randint(low, high)).scaleb(-places)


def _yuan(rng: random.Random, bounds: tuple[int, int]) -> Decimal:
    return _cents(rng.randint(bounds[0], bounds[1]) * 100)


def _pick_share(rng: random.Random, shares: tuple[tuple[str, float], ...], rest: str) -> str:
    x = rng.random()
    for code, share in shares:
        if x < share:
            return code
        x -= share
    return rest


def _landline(rng: random.Random) -> str:
    return f"010-{rng.randint(5000_0000, 8999_9999)}"


def _firm(rng: random.Random, trade: str, brand: str | None = None) -> str:
    """A Beijing company name such as 北京安居物业服务有限公司."""
    return f"北京{brand or rng.choice(fakes.COMPANY_BRANDS)}{trade}{rng.choice(fakes.COMPANY_FORMS)}"


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    mobile: str | None
    male: bool


class People:
    """Fake people of one estate; 身份证号 never repeat (owners are unique by it)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def make(self, born: tuple[int, int], male: bool | None = None) -> Person:
        rng = self.rng
        if male is None:
            male = rng.random() < 0.5
        first, last = date(born[0], 1, 1), date(born[1], 12, 31)
        while True:
            birth = _between(rng, first, last)
            regions = BEIJING_ID_REGIONS if rng.random() < BEIJING_BORN_SHARE else OTHER_ID_REGIONS
            number = fakes.id_card_for(rng, birth, male, rng.choice(regions))
            if number not in self.seen:
                break
        self.seen.add(number)
        mobile = fakes.mobile(rng) if birth.year <= LAST_MOBILE_BIRTH_YEAR else None
        return Person(fakes.person_name(rng, male), number, mobile, male)


@dataclass
class Site:
    """What the generators of one estate share."""

    id: int
    code: str
    large: bool
    delivered_on: date
    company_id: int
    people: People
    buildings: list[Row] = field(default_factory=list)
    units: list[Row] = field(default_factory=list)
    #: acquisition date per unit (same order as ``units``); None = unsold
    acquired: list[date | None] = field(default_factory=list)
    developer: Row = field(default_factory=dict)
    owners: list[Row] = field(default_factory=list)  # natural persons
    engineers: list[str] = field(default_factory=list)  # certified staff, who sign upkeep


# --- entry point ------------------------------------------------------------


def load(
    units: int = 1200, estates: int = 3, seed: int = 2026, total_units: int | None = None
) -> dict[str, int] | None:
    """Create the demo data set in one transaction; None (and no change) if it exists.

    ``units`` sizes the large estate; the others get a tenth of it each (at least 40),
    or, with ``total_units``, share what remains of that total (a city-scale benchmark:
    100 estates, 100,000 units). Returns the rows created per entity (Chinese labels).
    """
    if estates < MIN_ESTATES:
        raise ValueError(f"演示数据至少需要 {MIN_ESTATES} 个小区")
    if units < 1:
        raise ValueError("房屋套数必须大于 0")
    session = db.session
    if session.scalar(select(District.id).where(District.code == DISTRICT["code"])) is not None:
        return None
    rng = random.Random(seed)
    writer = Writer(session)
    users = _demo_users()
    communities = _region(writer)
    street_id = communities[0]["street_id"]
    companies = _companies(rng, writer)
    small_units = max(40, units // 10)
    if total_units is not None:
        small_units = max(40, (total_units - units) // (estates - 1))
    estate_ids = []
    for index, name in enumerate(_estate_names(rng, estates)):
        estate_ids.append(_estate(
            rng, writer, index, name,
            community=communities[index % len(communities)],
            company_id=companies[index % len(companies)],
            target_units=units if index == 0 else small_units,
        ))
    _grant_scopes(writer, large_estate_id=estate_ids[0], street_id=street_id)
    writer.advance_sequences()
    # Core inserts pass no ORM event: one audit record per table
    audit.record_all(session, [(m, writer.counts[m.Admin.label]) for m in writer._next_id], "演示数据 {count} 条")
    fees = load_fees(session, rng, estate_ids, manager="manager_a", committee="committee_a")
    fund = load_fund(session, rng, estate_ids, manager="manager_a", committee="committee_a", official="official_jd")
    operations = load_operations(session, rng, estate_ids)
    oversight = load_oversight(session, rng, estate_ids, official="official_jd", manager="manager_a")
    assembly = load_assembly(session, rng, estate_ids, manager="manager_a", committee="committee_a",
                             official="official_jd")
    messages = {**_messages(session, estate_ids[0]), **_wechat_bindings(session, estate_ids)}
    session.commit()
    return {**writer.counts, **fees, **fund, **operations, **oversight, **assembly, **messages, USERS_KEY: users}


def _messages(session: Any, estate_id: int) -> dict[str, int]:
    """What the outbox kept of the large estate's latest 收费标准公示 texted to three owners: two
    sent, one given up (死信) with the provider's reason, as 系统管理 → 消息发送记录 shows them."""
    from models.outbox import Delivery

    estate = session.get(Estate, estate_id)
    mobiles = session.execute(select(Owner.mobile).where(Owner.estate_id == estate_id, Owner.mobile.is_not(None))
                              .order_by(Owner.id).limit(3)).scalars().all()
    sent_at = clock.utc_now() - timedelta(days=3)
    body = f"{estate.name}的收费标准已公示，详见小区公示栏。"
    for index, mobile in enumerate(mobiles):
        dead = index == len(mobiles) - 1
        session.add(Delivery(
            channel="sms", address=mobile, template_key="fee_standard_published", subject=f"{estate.name}新收费标准公示",
            body=body, estate_id=estate_id, state="dead" if dead else "sent", attempts=5 if dead else 1,
            sent_at=None if dead else sent_at, created_at=sent_at, next_attempt_at=sent_at,
            last_error="阿里云短信：isv.BUSINESS_LIMIT_CONTROL 触发号码天级流控" if dead else None))
    return {"消息发送记录": len(mobiles)}


def _wechat_bindings(session: Any, estate_ids: list[int]) -> dict[str, int]:
    """Two owners of each estate bound their WeChat on the public board (openids as WeChat writes them)."""
    from models.outbox import WeChatBinding

    bound = 0
    for estate_id in estate_ids:
        owners = session.execute(select(Owner.id).where(Owner.estate_id == estate_id, Owner.is_developer.is_(False))
                                 .order_by(Owner.id).limit(2)).scalars().all()
        for owner_id in owners:
            bound += 1
            session.add(WeChatBinding(owner_id=owner_id, openid=f"oDemo{bound:04d}{'x' * 19}",
                                      bound_at=clock.utc_now() - timedelta(days=bound)))
    return {"微信绑定": bound}


def _demo_users() -> int:
    """The five demo accounts, inside the demo transaction (commit=False)."""
    sm = current_app.appbuilder.sm
    config = current_app.config
    # One scrypt hash (~0.1 s each) serves all accounts: they share the documented password.
    hashed = generate_password_hash(
        config["DEMO_PASSWORD"],
        method=config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
    )
    created = 0
    for username, first_name, last_name, role_name in DEMO_USERS:
        if sm.find_user(username=username) is not None:
            continue
        role = sm.find_role(role_name) or sm.add_role(role_name, commit=False)
        user = sm.add_user(
            username, first_name, last_name, f"{username}@example.com", role,
            hashed_password=hashed, commit=False,
        )
        if not user:  # FAB logs the cause and has rolled the session back
            raise RuntimeError(f"无法创建演示账号 {username}")
        created += 1
    return created


def _grant_scopes(writer: Writer, *, large_estate_id: int, street_id: int) -> None:
    sm = current_app.appbuilder.sm
    target = {"large_estate": {"estate_id": large_estate_id}, "street": {"street_id": street_id}}
    writer.insert(UserScope, [
        {"user_id": sm.find_user(username=username).id, "estate_id": None, "community_id": None,
         "street_id": None, **target[level]}
        for username, level in DEMO_SCOPES.items()
    ])


def _region(writer: Writer) -> list[Row]:
    district_id = writer.one(District, dict(DISTRICT))
    street_id = writer.one(Street, {**STREET, "district_id": district_id})
    return writer.insert(Community, [
        {"street_id": street_id, "name": name, "code": code, "phone": phone}
        for name, code, phone, _roads in COMMUNITIES
    ])


def _companies(rng: random.Random, writer: Writer) -> list[int]:
    rows = [
        {
            "name": _firm(rng, rng.choice(("物业服务", "物业管理")), brand),
            "uscc": fakes.uscc(rng),
            "qualification": rng.choice(QUALIFICATIONS),
            "credit_grade": rng.choice(CREDIT_GRADES),
            "contact": fakes.person_name(rng),
            "phone": _landline(rng),
            "address": f"北京市朝阳区{rng.choice(OFFICE_ROADS)}{rng.randint(1, 99)}号",
        }
        for brand in rng.sample(fakes.COMPANY_BRANDS, PROPERTY_COMPANIES)
    ]
    return [row["id"] for row in writer.insert(PropertyCompany, rows)]


def _estate_names(rng: random.Random, count: int) -> list[str]:
    others = [p + s for p in ESTATE_PREFIXES for s in ESTATE_SUFFIXES]
    if count - 1 > len(others):
        raise ValueError(f"演示数据最多 {len(others) + 1} 个小区")
    return [FLAGSHIP_ESTATE, *rng.sample(others, count - 1)]


# --- one estate -------------------------------------------------------------


def _estate(
    rng: random.Random, writer: Writer, index: int, name: str, *,
    community: Row, company_id: int, target_units: int,
) -> int:
    large = index == 0
    delivered_on = _days_before(rng, REFERENCE_DATE, *ESTATE_AGE_DAYS[large])
    plans = _plan_buildings(rng, target_units, LARGE_HIGH_RISE_SHARE if large else SMALL_HIGH_RISE_SHARE)
    site = Site(0, f"BJCY{index + 1:04d}", large, delivered_on, company_id, People(rng))
    statuses = _unit_statuses(rng, sum(plan.units for plan in plans))
    serial = itertools.count(rng.randint(100_000, 900_000))
    drafts = [
        _draft_building(
            rng, site, number, plan, statuses, serial, shops=large and number % SHOP_BUILDING_EVERY == 1
        )
        for number, plan in enumerate(plans, 1)
    ]
    site.id = writer.one(Estate, _estate_row(rng, site, name, community, drafts))
    for building, _units in drafts:
        building["estate_id"] = site.id
    site.buildings = writer.insert(Building, [building for building, _units in drafts])
    for building, units in drafts:
        for unit in units:
            # Core inserts bypass the ORM listener that keeps these in step with the building.
            unit["estate_id"], unit["building_id"] = site.id, building["id"]
            unit["building_key"] = natural_key(building["code"])
        site.units.extend(units)
    writer.insert(Unit, site.units)
    _contract(rng, writer, site, expiring=large)
    _owners(rng, writer, site)
    writer.insert(Resident, _residents(rng, site))
    _parking(rng, writer, site)
    _staff(rng, writer, site)
    _facilities(rng, writer, site)
    return site.id


@dataclass(frozen=True)
class Plan:
    floors: int
    entrances: int
    rooms: int  # per floor and entrance

    @property
    def units(self) -> int:
        return self.floors * self.entrances * self.rooms

    @property
    def high_rise(self) -> bool:
        return self.floors > max(LOW_RISE_FLOORS)


def _plans(floors: tuple[int, ...]) -> list[Plan]:
    return [Plan(f, e, r) for f in floors for e in ENTRANCES for r in ROOMS_PER_FLOOR]


def _plan_buildings(rng: random.Random, target: int, high_rise_share: float) -> list[Plan]:
    """Random buildings until ``target`` units; the last one is sized to land close."""
    plans: list[Plan] = []
    remaining = target
    while remaining > 0:
        floors = HIGH_RISE_FLOORS if rng.random() < high_rise_share else LOW_RISE_FLOORS
        plan = Plan(rng.choice(floors), rng.choice(ENTRANCES), rng.choice(ROOMS_PER_FLOOR))
        if plan.units > remaining:
            plan = min(_plans(floors), key=lambda p: (abs(p.units - remaining), p.floors, p.entrances))
            # stop when this building would overshoot by more than it fills
            if plans and abs(plan.units - remaining) >= remaining:
                break
        plans.append(plan)
        remaining -= plan.units
    return plans


def _unit_statuses(rng: random.Random, count: int) -> Iterator[str]:
    """Exact shares, shuffled: even a 40-unit estate has its unsold and rented flats."""
    statuses = [code for code, share in UNIT_STATUS_SHARES for _ in range(round(count * share))]
    statuses += ["owner_occupied"] * (count - len(statuses))
    rng.shuffle(statuses)
    return iter(statuses)


def _layout(rng: random.Random) -> tuple[Decimal, Decimal]:
    """(建筑面积, 套内面积) of one flat type; the same stack repeats it on every floor."""
    area = _cents(round(rng.triangular(*FLAT_AREA)))
    inner = (area * _ratio(rng, *INNER_RATIO, 3)).quantize(CENT)
    return area, inner


def _acquired_on(rng: random.Random, delivered_on: date) -> date:
    if rng.random() < RESALE_SHARE:
        return _between(rng, delivered_on + timedelta(days=730), REFERENCE_DATE)
    return min(REFERENCE_DATE, delivered_on + timedelta(days=rng.randint(30, 500)))


def _draft_building(
    rng: random.Random, site: Site, number: int, plan: Plan,
    statuses: Iterator[str], serial: Iterator[int], *, shops: bool,
) -> tuple[Row, list[Row]]:
    """A building row and its unit rows (ids and estate filled in by the caller)."""
    units: list[Row] = []
    for entrance in range(1, plan.entrances + 1):
        layouts = [_layout(rng) for _ in range(plan.rooms)]
        for floor in range(1, plan.floors + 1):
            for room, (area, inner) in enumerate(layouts, 1):
                shop = shops and entrance == 1 and floor == 1
                status = next(statuses)
                acquired = None if status == "unsold" else _acquired_on(rng, site.delivered_on)
                site.acquired.append(acquired)
                units.append({
                    "estate_id": None, "building_id": None,
                    "entrance": entrance, "floor": floor, "room_no": f"{entrance}-{floor}{room:02d}",
                    "floor_area": area, "inner_area": inner,
                    "unit_type": "shop" if shop else "residence",
                    "usage": "business" if shop else "living",
                    "status": status,
                    "delivered_on": None if acquired is None else site.delivered_on,
                    "certificate_no": None if acquired is None
                    else f"京({acquired.year})朝阳区不动产权第{next(serial):07d}号",
                })
    building = {
        "estate_id": None, "code": str(number), "name": f"{number}号楼",
        "floors": plan.floors, "entrances": plan.entrances,
        "floor_area": sum((u["floor_area"] for u in units), Decimal("0.00")),
        "structure": rng.choice(HIGH_RISE_STRUCTURES if plan.high_rise else LOW_RISE_STRUCTURES),
        "has_elevator": plan.high_rise,
        "completed_on": _days_before(rng, site.delivered_on, 60, 240),
    }
    return building, units


def _estate_row(
    rng: random.Random, site: Site, name: str, community: Row, drafts: list[tuple[Row, list[Row]]]
) -> Row:
    buildings = sum((b["floor_area"] for b, _ in drafts), Decimal("0.00"))
    total = (buildings * _ratio(rng, *SUPPORT_BUILDINGS, 2)).quantize(CENT)
    high_share = sum(b["has_elevator"] for b, _ in drafts) / len(drafts)
    plot_ratio = _ratio(rng, *PLOT_RATIO[high_share > 0.5], 2)
    # the large estate has the 业委会 a demo account sits on; half of the others have one
    has_committee = rng.random() < 0.5 or site.large
    founded = min(REFERENCE_DATE, site.delivered_on + timedelta(days=rng.randint(2 * 365, 6 * 365)))
    return {
        "community_id": community["id"], "name": name, "code": site.code,
        "address": f"北京市朝阳区{rng.choice(ROADS[community['name']])}{rng.randint(1, 99)}号",
        "land_area": (total / plot_ratio).quantize(CENT),
        "total_floor_area": total,
        "green_ratio": _cents(rng.randint(3000, 4000)),
        "delivered_on": site.delivered_on,
        "company_id": site.company_id,
        "committee_founded_on": founded if has_committee else None,
        "grid_name": f"{community['name']}第{rng.randint(1, 4)}网格",
    }


def _contract(rng: random.Random, writer: Writer, site: Site, *, expiring: bool) -> None:
    years = timedelta(days=CONTRACT_YEARS * 365)
    days_left = rng.randint(*EXPIRING_IN_DAYS)  # drawn either way: keeps the stream seed-stable
    if expiring:
        ends_on = clock.today() + timedelta(days=days_left)
        starts_on = ends_on - years
    else:
        starts_on = _days_before(rng, REFERENCE_DATE, 60, 900)
        ends_on = starts_on + years
    writer.one(ServiceContract, {
        "estate_id": site.id, "company_id": site.company_id,
        "contract_no": f"WYHT-{site.code}-{starts_on:%Y}",
        "starts_on": starts_on, "ends_on": ends_on,
        "billing_mode": "commission" if rng.random() < COMMISSION_SHARE else "lump_sum",
        "service_level": "level1" if site.large else rng.choice(("level2", "level3")),
        "signed_on": _days_before(rng, starts_on, 10, 40),
    })


# --- owners and residents ---------------------------------------------------


def _owner_row(site: Site, person: Person) -> Row:
    return {
        "estate_id": site.id, "name": person.name, "id_type": "resident_id",
        "id_number": person.id_number, "mobile": person.mobile, "is_developer": False,
    }


def _owners(rng: random.Random, writer: Writer, site: Site) -> None:
    """Titles: a developer holds the unsold units, people the sold ones (some jointly)."""
    site.developer = writer.insert(Owner, [{
        "estate_id": site.id, "name": _firm(rng, "房地产开发"), "id_type": "uscc",
        "id_number": fakes.uscc(rng), "mobile": fakes.mobile(rng), "is_developer": True,
    }])[0]
    sold = [i for i, acquired in enumerate(site.acquired) if acquired is not None]
    rng.shuffle(sold)
    persons: list[Person] = []
    titles: list[tuple[int, int, Decimal]] = []  # (unit index, person index, share)
    start = 0
    while start < len(sold):
        count = rng.choice((2, 3)) if rng.random() < MULTI_UNIT_OWNER_SHARE else 1
        persons.append(site.people.make(OWNER_BORN))
        holder = len(persons) - 1
        for unit in sold[start : start + count]:
            if rng.random() < CO_OWNED_UNIT_SHARE:
                persons.append(site.people.make(OWNER_BORN, male=not persons[holder].male))
                titles += [(unit, holder, _cents(5000)), (unit, len(persons) - 1, _cents(5000))]
            else:
                titles.append((unit, holder, _cents(10000)))
        start += count
    site.owners = writer.insert(Owner, [_owner_row(site, p) for p in persons])
    developer_titles = [
        {"unit_id": unit["id"], "owner_id": site.developer["id"], "share": _cents(10000),
         "acquired_on": site.delivered_on}
        for unit, acquired in zip(site.units, site.acquired) if acquired is None
    ]
    writer.insert(UnitOwnership, developer_titles + [
        {"unit_id": site.units[u]["id"], "owner_id": site.owners[o]["id"], "share": share,
         "acquired_on": site.acquired[u]}
        for u, o, share in titles
    ])


def _resident(person: Person, unit: Row, relation: str, moved_in: date, moved_out: date | None = None) -> Row:
    return {
        "unit_id": unit["id"], "name": person.name, "relation": relation,
        "id_number": person.id_number, "mobile": person.mobile,
        "moved_in_on": moved_in, "moved_out_on": moved_out,
    }


def _residents(rng: random.Random, site: Site) -> list[Row]:
    rows: list[Row] = []
    for unit, acquired in zip(site.units, site.acquired):
        if unit["status"] == "rented":
            rows += _tenants(rng, site, unit)
        elif unit["status"] == "owner_occupied" and rng.random() < FAMILY_SHARE:
            rows += _family(rng, site, unit, acquired or site.delivered_on)
    return rows


def _tenants(rng: random.Random, site: Site, unit: Row) -> list[Row]:
    # nobody moves in before the estate is delivered
    moved_in = max(site.delivered_on, _days_before(rng, REFERENCE_DATE, 20, 1100))
    rows = [
        _resident(site.people.make(TENANT_BORN), unit, "tenant", moved_in)
        for _ in range(rng.randint(1, 3))
    ]
    if rng.random() < FORMER_TENANT_SHARE:
        moved_out = max(site.delivered_on, _days_before(rng, moved_in, 1, 45))
        before = max(site.delivered_on, _days_before(rng, moved_out, 180, 900))
        rows.append(_resident(site.people.make(TENANT_BORN), unit, "tenant", before, moved_out))
    return rows


def _family(rng: random.Random, site: Site, unit: Row, acquired: date) -> list[Row]:
    rows = []
    for _ in range(rng.randint(1, 3)):
        moved_in = min(REFERENCE_DATE, acquired + timedelta(days=rng.randint(0, 180)))
        moved_out = _between(rng, moved_in, REFERENCE_DATE) if rng.random() < MOVED_OUT_FAMILY_SHARE else None
        person = site.people.make(rng.choice(FAMILY_BORN))
        rows.append(_resident(person, unit, "family", moved_in, moved_out))
    return rows


# --- parking ----------------------------------------------------------------


def _space_places(site: Site, count: int) -> Iterator[tuple[str, str]]:
    """(code, zone) of each space: an underground garage or a surface lot."""
    if site.large:
        per_level = -(-count // len(LARGE_GARAGE_LEVELS))
        for n in range(count):
            level, k = divmod(n, per_level)
            zone = ZONES_PER_LEVEL[k * len(ZONES_PER_LEVEL) // per_level]
            yield f"B{level + 1}-{k + 1:03d}", f"地下{LARGE_GARAGE_LEVELS[level]}层{zone}区"
    else:
        for n in range(count):
            yield f"D-{n + 1:03d}", SURFACE_ZONES[n * len(SURFACE_ZONES) // count]


def _space(rng: random.Random, site: Site, code: str, zone: str, holders: Iterator[Row]) -> Row:
    """A space, its use and who holds it (buyer, tenant, or the developer for unsold ones)."""
    x = rng.random()
    if x < TEMPORARY_SPACE_SHARE:
        space_type, owner = "temporary", None
        status = "occupied" if rng.random() < OCCUPIED_VISITOR_SHARE else "free"
    elif site.large and x < TEMPORARY_SPACE_SHARE + PRIVATE_SPACE_SHARE:
        space_type = "private"
        holder = next(holders, None) if rng.random() < SOLD_SPACE_SHARE else None
        status, owner = ("sold", holder) if holder else ("free", site.developer)
    else:
        space_type = "monthly"
        holder = next(holders, None) if rng.random() < RENTED_SPACE_SHARE else None
        status, owner = ("rented", holder) if holder else ("free", None)
    return {
        "estate_id": site.id, "code": code, "zone": zone, "space_type": space_type, "status": status,
        "area": _cents(rng.randint(*SPACE_AREA[site.large])), "owner_id": owner["id"] if owner else None,
    }


def _parking(rng: random.Random, writer: Writer, site: Site) -> None:
    count = max(1, round(len(site.units) * SPACES_PER_UNIT[site.large]))
    holders = iter(rng.sample(site.owners, len(site.owners)))
    spaces = writer.insert(ParkingSpace, [
        _space(rng, site, code, zone, holders) for code, zone in _space_places(site, count)
    ])
    parked = {space["owner_id"] for space in spaces if space["status"] in ("sold", "rented")}
    plates: set[str] = set()
    vehicles = [
        _vehicle(rng, site, space["owner_id"], space, plates)
        for space in spaces if space["status"] in ("sold", "rented")
    ] + [
        _vehicle(rng, site, owner["id"], None, plates)
        for owner in site.owners
        if owner["id"] not in parked and rng.random() < CARLESS_OWNER_VEHICLE_SHARE
    ]
    writer.insert(Vehicle, vehicles)
    status_of = {space["id"]: space["status"] for space in spaces}
    writer.insert(ParkingCard, _cards(rng, site, vehicles, status_of))


def _vehicle(rng: random.Random, site: Site, owner_id: int, space: Row | None, plates: set[str]) -> Row:
    new_energy = rng.random() < NEW_ENERGY_SHARE
    while True:  # plates are unique per estate
        province = "京" if rng.random() < LOCAL_PLATE_SHARE else rng.choice(OTHER_PLATE_PROVINCES)
        plate = fakes.plate(rng, province, new_energy=new_energy)
        if plate not in plates:
            break
    plates.add(plate)
    return {
        "estate_id": site.id, "plate": plate,
        "vehicle_type": "ev" if new_energy else rng.choices(VEHICLE_TYPES, VEHICLE_TYPE_WEIGHTS)[0],
        "color": rng.choices(VEHICLE_COLORS, VEHICLE_COLOR_WEIGHTS)[0],
        "owner_id": owner_id, "space_id": space["id"] if space else None,
    }


def _cards(rng: random.Random, site: Site, vehicles: list[Row], status_of: dict[int, str]) -> list[Row]:
    """Cards for cars with a space (some lapsed), plus a few temporary visitor cards."""
    numbers = (f"TK{n:06d}" for n in itertools.count(1))
    rows = []
    for vehicle in vehicles:
        if vehicle["space_id"] is None or rng.random() >= CARD_SHARE:
            continue
        rows.append({
            "estate_id": site.id, "card_no": next(numbers),
            "card_type": "yearly" if status_of[vehicle["space_id"]] == "sold" else "monthly",
            "color": rng.choice(CARD_COLORS),
            "access": "both" if site.large and rng.random() < LOBBY_ACCESS_SHARE else "car_park",
            "valid_until": REFERENCE_DATE + timedelta(days=rng.randint(-45, 365)),
            "vehicle_id": vehicle["id"], "owner_id": vehicle["owner_id"],
        })
    for _ in range(TEMPORARY_CARDS):
        rows.append({
            "estate_id": site.id, "card_no": next(numbers), "card_type": "temporary",
            "color": CARD_COLORS[1], "access": "car_park",
            "valid_until": REFERENCE_DATE + timedelta(days=rng.randint(1, 30)),
            "vehicle_id": None, "owner_id": None,
        })
    return rows


# --- staff ------------------------------------------------------------------


def _posts(rng: random.Random, site: Site) -> list[tuple[str, str, str | None]]:
    headcount = min(STAFF_RANGE[1], STAFF_RANGE[0] + len(site.units) // UNITS_PER_EXTRA_EMPLOYEE)
    core = list(CORE_POSTS)
    if any(b["has_elevator"] for b in site.buildings):
        core.append(LIFT_POST)
    return core + rng.choices(ROTA_POSTS, ROTA_WEIGHTS, k=headcount - len(core))


def _staff(rng: random.Random, writer: Writer, site: Site) -> None:
    posts = _posts(rng, site)
    staff = [site.people.make(STAFF_BORN) for _ in posts]
    heads = {}
    for (_position, department, _cert), person in zip(posts, staff):
        heads.setdefault(department, person.name)
    departments = writer.insert(Department, [
        {"company_id": site.company_id, "estate_id": site.id, "name": name,
         "head": heads.get(name), "phone": _landline(rng)}
        for name in DEPARTMENTS
    ])
    department_id = {d["name"]: d["id"] for d in departments}
    rows = []
    for (position, department, certificate), person in zip(posts, staff):
        hired_on = _between(rng, site.delivered_on, REFERENCE_DATE - timedelta(days=30))
        hired_on = max(hired_on, REFERENCE_DATE - timedelta(days=LONGEST_TENURE_DAYS))
        left_on = _between(rng, hired_on, REFERENCE_DATE) if rng.random() < LEFT_SHARE else None
        rows.append({
            "estate_id": site.id, "department_id": department_id[department], "name": person.name,
            "gender": "male" if person.male else "female", "id_number": person.id_number,
            "mobile": person.mobile, "position": position, "certificate": certificate,
            "certified": certificate is not None, "hired_on": hired_on, "left_on": left_on,
        })
        if certificate is not None:  # CORE_POSTS always has some: they keep the equipment
            site.engineers.append(person.name)
    writer.insert(Employee, rows)


# --- facilities -------------------------------------------------------------


def _installations(site: Site) -> Iterator[tuple[Equipment, str, str, int]]:
    """(kind, name, location, quantity): a lift per lift entrance, then estate-wide plant."""
    for building in site.buildings:
        if building["has_elevator"]:
            for entrance in range(1, building["entrances"] + 1):
                where = f"{building['name']}{entrance}单元"
                yield LIFT, f"{where}电梯", where, 1
    for kind in ESTATE_EQUIPMENT:
        quantity = max(1, kind.per_building * len(site.buildings))
        for n in range(1, kind.sets + 1):
            name = f"{n}#{kind.name}" if kind.sets > 1 else kind.name
            yield kind, name, kind.location, quantity


def _facilities(rng: random.Random, writer: Writer, site: Site) -> None:
    kinds, rows = [], []
    for kind, name, location, quantity in _installations(site):
        purchased = _days_before(rng, site.delivered_on, 90, 300)
        installed = purchased + timedelta(days=rng.randint(10, 60))
        kinds.append(kind)
        rows.append({
            "estate_id": site.id, "name": name, "category": kind.category,
            "model_no": rng.choice(kind.models), "spec": kind.spec, "quantity": quantity,
            "location": location, "purchased_on": purchased, "installed_on": installed,
            "warranty_until": installed + timedelta(days=365 * kind.warranty_years),
            "design_life_years": kind.life_years,
            "status": _pick_share(rng, FACILITY_STATUS_SHARES, "in_use"),
        })
    facilities = writer.insert(Facility, rows)
    events, plans = [], []
    for kind, facility in zip(kinds, facilities):
        events += _events(rng, site, kind, facility)
        plans.append(_plan(rng, site, kind, facility))
    writer.insert(FacilityEvent, events)
    writer.insert(MaintenancePlan, plans)


def _event(facility: Row, event_type: str, day: date, cost: Decimal, operator: str) -> Row:
    return {
        "facility_id": facility["id"], "event_type": event_type, "occurred_on": day,
        "description": EVENT_NOTES[event_type], "cost": cost, "operator": operator,
    }


def _events(rng: random.Random, site: Site, kind: Equipment, facility: Row) -> list[Row]:
    """1-4 life-cycle records: purchase, installation, then upkeep in date order."""
    price = _yuan(rng, kind.price)
    installation = (price * _ratio(rng, *INSTALLATION_COST, 2)).quantize(CENT)
    history = [
        _event(facility, "purchase", facility["purchased_on"], price, site.developer["name"]),
        _event(facility, "install", facility["installed_on"], installation, rng.choice(INSTALLERS)),
    ]
    since = facility["installed_on"] + timedelta(days=30)
    for day in sorted(_between(rng, since, REFERENCE_DATE) for _ in range(2)):
        event_type = rng.choice(tuple(UPKEEP_COST))
        cost = _yuan(rng, UPKEEP_COST[event_type])
        history.append(_event(facility, event_type, day, cost, rng.choice(site.engineers)))
    return history[: rng.randint(1, 4)]


def _plan(rng: random.Random, site: Site, kind: Equipment, facility: Row) -> Row:
    days = CYCLE_DAYS[kind.cycle]
    last_done = _days_before(rng, REFERENCE_DATE, 0, days - 1)
    return {
        "facility_id": facility["id"], "content": kind.upkeep, "cycle": kind.cycle,
        "responsible": rng.choice(site.engineers),
        "last_done_on": last_done, "next_due_on": last_done + timedelta(days=days),
    }
