"""The owners' vote on the matters they decide together (民法典 第278条, 建筑物区分所有权解释 第8/9条).

The arithmetic is kept apart from the database so that it can be read against the law
and tested case by case: :func:`tally` takes the electorate (one :class:`Voter` per unit,
area in hundredths of a ㎡) and the ballots (one per person) and counts them per choice; :func:`count_up`
decides from those counts with exact fractions. The live count sums the same figures in
SQL (``models.repair_fund.current_tally``) and hands them to the same :func:`count_up`.

- Area of a unit = its 建筑面积 (第8条).
- Headcount (第9条): one unit = one person, except that the units of one owner (or of the
  same co-owners) are one person, and all unsold developer units together are one person.
  The roll stores, per unit, the key of the person it belongs to.
- One ballot per person (第9条 counts the person once with all their 专有部分): the ballot
  is the person's, and all their units on the roll carry its choice. A person who returned
  a ballot is never silent; silent consent, where the rules enable it, applies to persons
  who returned nothing, with all their area.
- Quorum: participating area ≥ q × total area AND participating heads ≥ q × total heads
  ("以上" includes the boundary). 同意, 反对 and 弃权 all participate.
- Approval: 同意 > a × participating (area and heads) ("过半数" is strict); at least 3/4 for
  筹集维修资金, 改建重建 and 改变共有部分用途/经营 (:func:`legal_rule`). The older 双2/3 rule
  (同意 ≥ 2/3 of ALL owners) is another :class:`Rule` value; a jurisdiction keeps its own,
  never below the law's, in :class:`VoteRule`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, ColumnElement, ForeignKey, ForeignKeyConstraint, Index, Integer, Select,
    String, UniqueConstraint, select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import clock
from models.base import ALL_ESTATES, Admin, Area, Choices, Derived, Document, Entity, Menu, fk, zh
from models.clock import UTCDateTime
from models.estate import Unit
from models.people import Owner, UnitOwnership
from models.region import District

BALLOT_CHOICES = Choices(("yes", "同意"), ("no", "反对"), ("abstain", "弃权"))
CHANNELS = Choices(("paper", "纸质表决票"), ("electronic", "电子投票"))
#: everything owners decide together, in the order of 民法典第二百七十八条第一款 (一)–(九)
MATTERS = Choices(
    ("rules_of_procedure", "制定和修改业主大会议事规则"),
    ("covenant", "制定和修改管理规约"),
    ("committee", "选举业主委员会或者更换业主委员会成员"),
    ("property_manager", "选聘和解聘物业服务企业或者其他管理人"),
    ("use", "使用建筑物及其附属设施的维修资金"),
    ("raise_fund", "筹集建筑物及其附属设施的维修资金"),
    ("rebuild", "改建、重建建筑物及其附属设施"),
    ("common_parts", "改变共有部分的用途或者利用共有部分从事经营活动"),
    ("other", "有关共有和共同管理权利的其他重大事项"),
)
#: items (六)–(八): 3/4 of the participating area and heads; every other matter: more than half
THREE_QUARTER_MATTERS = frozenset({"raise_fund", "rebuild", "common_parts"})
#: what a repair-fund application may be put to the owners as: its use, or a use that
#: rebuilds (改建、重建), which needs the 3/4 of item (七)
FUND_MATTERS = Choices(*[(code, MATTERS.label(code)) for code in ("use", "rebuild")])
BASES = Choices(("participating", "参与表决的业主"), ("total", "全体业主"))
ONE_BALLOT = "该业主已经投过票：同一业主的多套房屋计为一人，只投一票，表决意见计入其全部房屋"
#: the person key of every unsold developer unit of an estate (第9条: together one person)
DEVELOPER = "developer"


def percent_text(part: Fraction) -> str:
    """A share as a percentage with two decimals, exactly rounded (for display only)."""
    return f"{Decimal(part.numerator * 100) / Decimal(part.denominator):.2f}" if part else "0.00"


def parse_fraction(text: str | None) -> Fraction | None:
    """"2/3", "1/2" or "0": a threshold as people write it; None when it is not one."""
    try:
        value = Fraction((text or "").strip())
    except (ValueError, ZeroDivisionError):
        return None
    return value if 0 <= value <= 1 else None


def _fraction_check(text: str) -> str | None:
    return None if parse_fraction(text) is not None else "请填写 0 到 1 之间的分数，如 2/3"


# -- the arithmetic ------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    quorum: Fraction = Fraction(2, 3)
    approval: Fraction = Fraction(1, 2)
    #: "过半数" (strictly more than) or "以上" (at least)
    strict: bool = True
    #: whose area and heads 同意 is measured against
    base: str = "participating"

    def describe(self) -> str:
        quorum = f"参与表决的专有部分面积和人数均达到总数的 {self.quorum} 以上" if self.quorum else "不设参与表决门槛"
        whole = "参与表决部分" if self.base == "participating" else "全体业主"
        approval = (f"同意的面积和人数均超过{whole}的 {self.approval}" if self.strict
                    else f"同意的面积和人数均达到{whole}的 {self.approval} 以上")
        return f"{quorum}；{approval}"


@dataclass(frozen=True)
class Voter:
    """One unit of the electorate: its area (0.01 ㎡) and the person it counts towards."""

    unit_id: int
    area: int
    person: str


@dataclass(frozen=True)
class Tally:
    total_area: int
    total_heads: int
    participating_area: int
    participating_heads: int
    yes_area: int
    yes_heads: int
    no_area: int
    no_heads: int
    abstain_area: int
    abstain_heads: int
    #: units without a ballot counted as 同意 (only where the estate's rules say so)
    silent_area: int
    silent_heads: int
    rule: Rule
    #: units on the roll and units covered by a ballot (not part of the decision)
    units: int = 0
    ballots: int = 0

    @property
    def voted_heads(self) -> int:
        """Persons who returned a ballot (silent consent aside)."""
        return self.yes_heads - self.silent_heads + self.no_heads + self.abstain_heads

    def share(self, part: int, whole: int) -> Fraction:
        return Fraction(part, whole) if whole else Fraction(0)

    @property
    def quorum_area_met(self) -> bool:
        return self.share(self.participating_area, self.total_area) >= self.rule.quorum

    @property
    def quorum_heads_met(self) -> bool:
        return self.share(self.participating_heads, self.total_heads) >= self.rule.quorum

    def _approved(self, yes: int, participating: int, total: int) -> bool:
        base = participating if self.rule.base == "participating" else total
        if base == 0:
            return False
        ratio = Fraction(yes, base)
        return ratio > self.rule.approval if self.rule.strict else ratio >= self.rule.approval

    @property
    def approval_area_met(self) -> bool:
        return self._approved(self.yes_area, self.participating_area, self.total_area)

    @property
    def approval_heads_met(self) -> bool:
        return self._approved(self.yes_heads, self.participating_heads, self.total_heads)

    @property
    def passed(self) -> bool:
        return (self.quorum_area_met and self.quorum_heads_met
                and self.approval_area_met and self.approval_heads_met)


#: the key of units and persons without a ballot in :func:`count_up`'s figures
SILENT = None


def tally(voters: Iterable[Voter], ballots: Mapping[str, str], rule: Rule = Rule(),
          silent_consent: bool = False) -> Tally:
    """Count the ballots (person → "yes"/"no"/"abstain") over the electorate: each unit
    carries its person's choice, or is silent when its person returned nothing."""
    area: dict[str | None, int] = {}
    units: dict[str | None, int] = {}
    persons: dict[str | None, set[str]] = {}
    for voter in voters:
        choice = ballots.get(voter.person, SILENT)
        area[choice] = area.get(choice, 0) + voter.area
        units[choice] = units.get(choice, 0) + 1
        persons.setdefault(choice, set()).add(voter.person)
    heads = {choice: len(names) for choice, names in persons.items()}
    return count_up(area, heads, units, rule, silent_consent)


def count_up(area: Mapping[str | None, int], heads: Mapping[str | None, int], units: Mapping[str | None, int],
             rule: Rule, silent_consent: bool) -> Tally:
    """The tally from the figures per choice (area in 0.01 ㎡, persons, units; SILENT = no ballot).

    Silent units and persons do not participate, or — where the estate's rules say
    silence is consent — participate as 同意.
    """
    def of(figures: Mapping[str | None, int], choice: str | None) -> int:
        return int(figures.get(choice, 0))

    silent_area = of(area, SILENT) if silent_consent else 0
    silent_heads = of(heads, SILENT) if silent_consent else 0
    voted_area = sum(of(area, c) for c in BALLOT_CHOICES.codes)
    voted_heads = sum(of(heads, c) for c in BALLOT_CHOICES.codes)
    return Tally(
        total_area=sum(area.values()), total_heads=sum(heads.values()),
        participating_area=voted_area + silent_area, participating_heads=voted_heads + silent_heads,
        yes_area=of(area, "yes") + silent_area, yes_heads=of(heads, "yes") + silent_heads,
        no_area=of(area, "no"), no_heads=of(heads, "no"),
        abstain_area=of(area, "abstain"), abstain_heads=of(heads, "abstain"),
        silent_area=silent_area, silent_heads=silent_heads, rule=rule,
        units=sum(units.values()), ballots=sum(of(units, c) for c in BALLOT_CHOICES.codes),
    )


# -- the roll ------------------------------------------------------------------------

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def roll_entries(session: Session, units: Select, day: dt.date) -> list[dict[str, Any]]:
    """The electorate of a vote over the units ``units`` selects, as of ``day``: each unit's
    area (第8条), the person it counts towards and that person's name (第9条), and one
    电子投票码 per person (one ballot per person)."""
    rows = session.execute(select(Unit.id, Unit.floor_area, Unit.status, Unit.delivered_on)
                           .where(Unit.id.in_(units)).order_by(Unit.id)).all()
    owners: dict[int, list[tuple[int, str, bool]]] = {}
    for unit_id, owner_id, name, developer in session.execute(
        select(UnitOwnership.unit_id, Owner.id, Owner.name, Owner.is_developer)
        .join(Owner, Owner.id == UnitOwnership.owner_id).where(UnitOwnership.unit_id.in_(units))
    ):
        owners.setdefault(unit_id, []).append((owner_id, name, developer))
    entries, codes = [], {}
    for unit in rows:
        holders = sorted(owners.get(unit.id, []))
        # 建筑物区分所有权解释第九条: units not sold, and units sold but not yet delivered, are
        # together one person, the developer's (a unit without a delivery date counts as delivered)
        undelivered = unit.delivered_on is not None and unit.delivered_on > day
        if unit.status == "unsold" or undelivered or (holders and all(developer for *_rest, developer in holders)):
            person, name = DEVELOPER, "开发建设单位（未售或未交付）"
        elif holders:
            person = "owners:" + ",".join(str(owner_id) for owner_id, *_rest in holders)
            name = "、".join(n for _id, n, _dev in holders)
        else:
            person, name = f"unit:{unit.id}", "（未登记业主）"
        person = person[:200]
        code = codes.setdefault(person, "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8)))
        entries.append(dict(unit_id=unit.id, area=unit.floor_area, person=person, voter_name=name[:200], code=code))
    return entries


def vote_may_close(vote_until: dt.date, persons: int, cast: int) -> str | None:
    """A vote is counted once its period is over, or earlier when every person has voted."""
    if clock.today() > vote_until or cast >= persons:
        return None
    return (f"表决期至 {vote_until:%Y年%m月%d日}，尚有 {persons - cast} 位业主未投票，"
            "表决期满或全部业主投票后方可计票")


def code_matches(session: Session, roll: type, of_vote: ColumnElement[bool], person: str, code: str | None) -> bool:
    """Whether ``code`` is the person's 电子投票码 on the roll of one vote (a roll opened before
    codes were per person has one per unit, and each of them opens the person's ballot)."""
    typed = (code or "").strip().upper()
    known = session.execute(select(roll.code).where(of_vote, roll.person == person)).scalars()
    # every code is compared (no early exit): the answer takes as long whichever matched
    return bool(typed) and any([secrets.compare_digest(typed, value) for value in known])


# -- the tables ----------------------------------------------------------------------

#: 民法典第二百七十八条第二款: local rules may be stricter than these floors, never looser
LEGAL_QUORUM = Fraction(2, 3)


def legal_rule(matter: str) -> Rule:
    """The law's own rule for a matter: quorum 2/3 of area and heads for all; 同意 at least 3/4
    for items (六)–(八), more than half for the others."""
    if matter in THREE_QUARTER_MATTERS:
        return Rule(quorum=LEGAL_QUORUM, approval=Fraction(3, 4), strict=False)
    return Rule(quorum=LEGAL_QUORUM, approval=Fraction(1, 2), strict=True)


ARTICLE_278 = "民法典第二百七十八条第二款"


def _not_below_the_law(values: dict) -> list[tuple[str, str]]:
    """A jurisdiction's rule may raise the thresholds of 第278条, never lower them."""
    found = []
    quorum = parse_fraction(values.get("quorum"))
    if quorum is not None and quorum < LEGAL_QUORUM:
        found.append(("quorum", f"参与表决门槛不得低于法定的 2/3：参与表决的专有部分面积和人数均须占总数的三分之二以上（{ARTICLE_278}）"))
    approval = parse_fraction(values.get("approval"))
    law = legal_rule(values.get("matter") or "use")
    floor, floor_strict = law.approval, law.strict
    strict = bool(values.get("strict"))
    if approval is not None and (approval < floor or (approval == floor and floor_strict and not strict)):
        law = ("经参与表决专有部分面积过半数的业主且参与表决人数过半数的业主同意" if floor_strict
               else "经参与表决专有部分面积四分之三以上的业主且参与表决人数四分之三以上的业主同意")
        found.append(("approval", f"同意比例不得低于法定标准：应{law}（{ARTICLE_278}）"))
    return found


class VoteRule(Entity):
    """表决规则: the thresholds of a jurisdiction (区); a row without 区 is the default."""

    __tablename__ = "vote_rule"

    district_id: Mapped[int | None] = fk("district.id", nullable=True)
    district: Mapped[District | None] = relationship(info=zh("适用区", "留空为默认规则"))
    matter: Mapped[str] = mapped_column(String(20), default="use", info=zh("表决事项", choices=MATTERS))
    quorum: Mapped[str] = mapped_column(
        String(10), default="2/3", info=zh("参与表决门槛", "参与表决的面积和人数均须达到总数的此比例以上，如 2/3；0 为不设", check=_fraction_check)
    )
    approval: Mapped[str] = mapped_column(
        String(10), default="1/2", info=zh("同意比例", "如 1/2（过半数）、3/4、2/3", check=_fraction_check)
    )
    strict: Mapped[bool] = mapped_column(
        Boolean, default=True, info=zh("须超过该比例", "勾选为“过半数”（不含本数）；不勾选为“以上”（含本数）")
    )
    base: Mapped[str] = mapped_column(
        String(20), default="participating", info=zh("同意比例的计算基数", choices=BASES)
    )
    basis: Mapped[str] = mapped_column(String(200), info=zh("依据", "如 民法典第二百七十八条、本市维修资金管理办法"))

    __table_args__ = (
        MATTERS.constraint("matter", "ck_vote_rule_matter"),
        BASES.constraint("base", "ck_vote_rule_base"),
    )

    def __str__(self) -> str:
        return f"{self.district or '默认'} {MATTERS.label(self.matter)}"

    def rule(self) -> Rule:
        return Rule(parse_fraction(self.quorum), parse_fraction(self.approval), self.strict, self.base)

    class Admin(Admin):
        label = "表决规则"
        menu = Menu.FUND
        icon = "fa-gavel"
        list_columns = ("district", "matter", "quorum", "approval", "strict", "base", "basis")
        search_columns = ("district", "matter")
        order_by = ("id", "asc")
        scope_path = None
        rules = (_not_below_the_law,)


def rule_for(session: Session, district_id: int | None, matter: str) -> Rule:
    """The jurisdiction's own rule for the matter, else the default row, else the law's."""
    rows = session.execute(
        select(VoteRule).where(VoteRule.matter == matter,
                               (VoteRule.district_id == district_id) | VoteRule.district_id.is_(None))
        .order_by(VoteRule.district_id.is_(None), VoteRule.id),
        execution_options={ALL_ESTATES: True},
    ).scalars().first()
    if rows is not None:
        return rows.rule()
    return legal_rule(matter)


class VoteRoll(Entity):
    """表决名册: the electorate of one application, fixed when the vote opens."""

    __tablename__ = "vote_roll"

    application_id: Mapped[int] = fk("fund_application.id", index=False)  # ix_vote_roll_person starts with it
    application: Mapped["FundApplication"] = relationship(info=zh("使用申请"))  # noqa: F821
    estate_id: Mapped[int] = fk("estate.id")
    unit_id: Mapped[int] = fk("unit.id")
    unit: Mapped[Unit] = relationship(info=zh("房屋"))
    area: Mapped[Decimal] = mapped_column(Area, info=zh("专有部分面积（㎡）"))
    person: Mapped[str] = mapped_column(String(200), info=zh("计人数的业主", "同一业主的多套房屋、开发建设单位未售房屋各计一人"))
    voter_name: Mapped[str] = mapped_column(String(200), info=zh("业主"))
    # the owner's secret for electronic voting: unlabelled, so no generated page, export or
    # API shows it; only the committee's printed 表决票 carries it to the owner
    code: Mapped[str] = mapped_column(String(12))

    __table_args__ = (
        UniqueConstraint("application_id", "unit_id", name="uq_vote_roll_unit",
                         info={"message": "该房屋已在表决名册中"}),
        # the target of the ballot's reference: a ballot names a unit of the roll AND its person
        UniqueConstraint("application_id", "unit_id", "person", name="uq_vote_roll_unit_person"),
        # a person's units: what a ballot is counted for
        Index("ix_vote_roll_person", "application_id", "person"),
    )

    def __str__(self) -> str:
        return str(self.unit)

    class Admin(Admin):
        label = "表决名册"
        menu = Menu.FUND
        icon = "fa-list-ol"
        list_columns = ("application", "unit", "area", "voter_name")
        form_columns = ("application", "unit", "area", "voter_name")
        search_columns = ("application",)
        order_by = ("id", "asc")
        str_loads = ("unit",)
        actions = frozenset()  # written when the vote opens
        append_only = True


class Ballot(Entity):
    """表决票: one per person of the roll (a database constraint), cast through any of the
    person's units and counted for all of them; never changed."""

    __tablename__ = "ballot"

    application_id: Mapped[int] = fk("fund_application.id")
    application: Mapped["FundApplication"] = relationship(info=zh("使用申请"))  # noqa: F821
    estate_id: Mapped[int] = fk("estate.id")
    unit_id: Mapped[int] = fk("unit.id")
    unit: Mapped[Unit] = relationship(info=zh("房屋", "投票时出示的房屋；表决意见计入该业主在名册中的全部房屋"))
    # the roll's key of the person voting (unlabelled: an internal key, never shown)
    person: Mapped[str] = mapped_column(String(200))
    choice: Mapped[str] = mapped_column(String(10), info=zh("表决意见", choices=BALLOT_CHOICES))
    channel: Mapped[str] = mapped_column(String(12), info=zh("表决方式", choices=CHANNELS))
    scan: Mapped[str | None] = mapped_column(Document(255), info=zh("表决票扫描件"))
    recorded_by: Mapped[str] = mapped_column(String(100), info=zh("录入人", login=True))
    cast_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=zh("投票时间"))

    __table_args__ = (
        UniqueConstraint("application_id", "person", name="uq_ballot_person",
                         info={"message": ONE_BALLOT}),
        ForeignKeyConstraint(("application_id", "unit_id", "person"),
                             ("vote_roll.application_id", "vote_roll.unit_id", "vote_roll.person"),
                             name="fk_ballot_roll"),
        BALLOT_CHOICES.constraint("choice", "ck_ballot_choice"),
        CHANNELS.constraint("channel", "ck_ballot_channel"),
        CheckConstraint("channel <> 'paper' OR scan IS NOT NULL", name="ck_ballot_paper_scan"),
    )

    def __str__(self) -> str:
        return f"{self.unit} {BALLOT_CHOICES.label(self.choice)}"

    class Admin(Admin):
        label = "表决票"
        menu = Menu.FUND
        icon = "fa-check-square-o"
        list_columns = ("application", "unit", "choice", "channel", "recorded_by", "cast_at")
        search_columns = ("application", "choice", "channel")
        order_by = ("cast_at", "desc")
        str_loads = ("unit",)
        actions = frozenset()  # cast on the application's vote page, one per person
        append_only = True


class KeptCount:
    """The columns of a live count the database keeps per choice of a vote ('' = no ballot
    yet): the units, area (0.01 ㎡) and persons of the roll under it. The roll and the
    ballots are append-only, so insert triggers keep it exact in the same transaction
    (docs/owners-assembly.md); a page reads a few rows instead of joining the whole roll
    to its persons' ballots."""

    # after the row's own key (sort_order): the key's columns lead the primary key
    choice: Mapped[str] = mapped_column(String(10), primary_key=True, sort_order=10)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id", ondelete="CASCADE"), sort_order=10)
    units: Mapped[int] = mapped_column(Integer, sort_order=10)
    area_hundredths: Mapped[int] = mapped_column(BigInteger, sort_order=10)
    persons: Mapped[int] = mapped_column(Integer, sort_order=10)


def kept_figures(rows: Iterable[KeptCount]) -> tuple[dict, dict, dict]:
    """Area, units and persons per choice (SILENT: no ballot), as :func:`count_up` takes them."""
    area: dict[str | None, int] = {}
    units: dict[str | None, int] = {}
    heads: dict[str | None, int] = {}
    for row in rows:
        if row.units:  # every unit of the roll may have voted: nothing left without a ballot
            choice = row.choice or SILENT
            area[choice], units[choice], heads[choice] = row.area_hundredths, row.units, row.persons
    return area, units, heads


class VoteTally(KeptCount, Derived):
    """The live count of a repair-fund application's vote (triggers of migration d7a3c9e5f1b2)."""

    __tablename__ = "vote_tally"

    application_id: Mapped[int] = mapped_column(ForeignKey("fund_application.id", ondelete="CASCADE"),
                                                primary_key=True)


class TallyFigures:
    """The columns of a stored outcome: every number it was computed from, the rule, the verdict."""

    total_area: Mapped[Decimal] = mapped_column(Area, info=zh("总面积（㎡）"))
    total_heads: Mapped[int] = mapped_column(Integer, info=zh("总人数"))
    participating_area: Mapped[Decimal] = mapped_column(Area, info=zh("参与表决面积（㎡）"))
    participating_heads: Mapped[int] = mapped_column(Integer, info=zh("参与表决人数"))
    yes_area: Mapped[Decimal] = mapped_column(Area, info=zh("同意面积（㎡）"))
    yes_heads: Mapped[int] = mapped_column(Integer, info=zh("同意人数"))
    no_area: Mapped[Decimal] = mapped_column(Area, info=zh("反对面积（㎡）"))
    no_heads: Mapped[int] = mapped_column(Integer, info=zh("反对人数"))
    abstain_area: Mapped[Decimal] = mapped_column(Area, info=zh("弃权面积（㎡）"))
    abstain_heads: Mapped[int] = mapped_column(Integer, info=zh("弃权人数"))
    silent_area: Mapped[Decimal] = mapped_column(Area, info=zh("未反馈视为同意面积（㎡）"))
    silent_heads: Mapped[int] = mapped_column(Integer, info=zh("未反馈视为同意人数"))
    rule: Mapped[str] = mapped_column(String(300), info=zh("表决规则"))
    passed: Mapped[bool] = mapped_column(Boolean, info=zh("是否通过"))
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, info=zh("计票时间"))


def figures_of(result: Tally) -> dict[str, Any]:
    """A tally as the columns of :class:`TallyFigures` (areas back in ㎡)."""
    area = lambda hundredths: Decimal(hundredths) / 100  # noqa: E731
    return dict(
        total_area=area(result.total_area), total_heads=result.total_heads,
        participating_area=area(result.participating_area), participating_heads=result.participating_heads,
        yes_area=area(result.yes_area), yes_heads=result.yes_heads, no_area=area(result.no_area),
        no_heads=result.no_heads, abstain_area=area(result.abstain_area), abstain_heads=result.abstain_heads,
        silent_area=area(result.silent_area), silent_heads=result.silent_heads,
        rule=result.rule.describe()[:300], passed=result.passed,
    )


class VoteResult(TallyFigures, Entity):
    """表决结果: the outcome stored together with every number it was computed from."""

    __tablename__ = "vote_result"

    application_id: Mapped[int] = fk("fund_application.id")
    application: Mapped["FundApplication"] = relationship(info=zh("使用申请"))  # noqa: F821
    estate_id: Mapped[int] = fk("estate.id")

    __table_args__ = (UniqueConstraint("application_id", name="uq_vote_result_application",
                                       info={"message": "该申请已经计票"}),)

    def __str__(self) -> str:
        return "通过" if self.passed else "未通过"

    class Admin(Admin):
        label = "表决结果"
        menu = Menu.FUND
        icon = "fa-bar-chart"
        list_columns = ("application", "passed", "participating_area", "yes_area", "participating_heads", "yes_heads", "computed_at")
        search_columns = ("application", "passed")
        order_by = ("computed_at", "desc")
        actions = frozenset()  # written by the tally when the vote closes
        append_only = True
