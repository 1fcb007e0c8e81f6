"""System settings: one row, every tunable number of the product with its default.

Deadlines, thresholds, 公示 days and the hotline live here (one place per concern);
later domains add their columns. The migration inserts the row, so every column
needs a ``server_default``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Integer, String, UniqueConstraint, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import ALL_ESTATES, Admin, Choices, Entity, Menu, Money, among, fk, positive, zh
from models.region import District


def _from_one_to(highest: int, unit: str = "", basis: str = "", lowest: int = 1):
    """A value from 1 to ``highest``: a longest period or a largest share the law sets (a locality
    may ask for less), or a plain percentage; ``lowest`` 0 where 0 means the rule does not apply."""
    refusal = f"须在 {lowest} 至 {highest} {unit}之间" + (f"（{basis}）" if basis else "")

    def check(value: int | None) -> str | None:
        return None if value is None or lowest <= value <= highest else refusal
    return check


GUIDANCE = "业主大会和业主委员会指导规则"
#: 备案 of an elected 业委会 is due within 30 days of the election; a locality may ask sooner
_legal_filing = _from_one_to(30, "天", "物业管理条例第十六条：选举产生之日起 30 日内备案")
_percent = _from_one_to(100)
#: owners holding 20 % of the area and of the persons may call a meeting; local rules may let
#: fewer call one, never demand more
_proposal_share = _from_one_to(20, basis=f"{GUIDANCE}第二十一条：20% 以上业主提议即应召开")


def _not_negative(value: Any) -> str | None:
    return None if value is None or value >= 0 else "不能为负数"


def _owners_half(value: int | None) -> str | None:
    """业主代表不低于筹备组总人数的一半 (指导规则第十条): a locality may ask for more."""
    return None if value is None or 50 <= value <= 100 else f"不得低于 50%（{GUIDANCE}第十条）"


def _legal_notice(days: int | None) -> str | None:
    """A local rule may give owners more notice of a meeting than the law's 15 days, never less."""
    return None if days is None or days >= 15 else "不得少于 15 天（物业管理条例第十四条）"


class Settings(Entity):
    __tablename__ = "settings"

    lockout_threshold: Mapped[int] = mapped_column(
        Integer, server_default="5",
        info=zh("登录失败锁定次数", "连续输错密码达到此次数后锁定账号，由管理员解锁", check=positive),
    )

    complaint_hotline: Mapped[str] = mapped_column(
        String(20), server_default="12315", info=zh("价格举报电话", "收费公示上的投诉举报电话")
    )

    # -- 业主大会 --
    assembly_notice_days: Mapped[int] = mapped_column(
        Integer, server_default="15",
        info=zh("业主大会会议通知天数", "须于会议召开（表决开始）前至少此天数公告；不得少于 15 天（物业管理条例第十四条），地方规定更长的从其规定",
                check=_legal_notice, local=True),
    )
    extraordinary_proposal_percent: Mapped[int] = mapped_column(
        Integer, server_default="20",
        info=zh("临时会议提议比例（%）", "专有部分面积和人数均占此比例以上的业主提议，业委会应组织召开临时会议；不得高于 20%（指导规则第二十一条）",
                check=_proposal_share, local=True),
    )
    committee_seats_min: Mapped[int] = mapped_column(
        Integer, server_default="5", info=zh("业委会委员最少人数", "换届或首次选举的应选名额为最少与最多人数之间的单数", check=positive, local=True),
    )
    committee_seats_max: Mapped[int] = mapped_column(
        Integer, server_default="11", info=zh("业委会委员最多人数", check=positive, local=True),
    )
    candidate_no_arrears: Mapped[bool] = mapped_column(
        Boolean, server_default=true(),
        info=zh("候选人不得欠缴物业费", "勾选：有超过欠费催缴天数仍未缴清账单的业主不能登记为业委会委员候选人（地方规定）",
                local=True),
    )
    committee_filing_days: Mapped[int] = mapped_column(
        Integer, server_default="30",
        info=zh("业委会备案期限（天）", "自选举产生之日起此天数内向街道办事处备案；不得超过 30 天（物业管理条例第十六条）",
                check=_legal_filing, local=True),
    )

    # -- the first assembly (业主大会和业主委员会指导规则第八至十五条) --
    first_assembly_delivered_percent: Mapped[int] = mapped_column(
        Integer, server_default="50",
        info=zh("成立业主大会的交付面积比例（%）", "已交付的专有部分面积超过总面积的此比例，可筹备首次业主大会会议（指导规则第八条；地方另有规定的从其规定）",
                check=_percent, local=True),
    )
    # local rules add other conditions, any one of which is enough (e.g. 北京: 交付套数过半 or 首套交付满一年;
    # 上海: 首套交付满两年); the national rule has only the area
    first_assembly_units_percent: Mapped[int] = mapped_column(
        Integer, server_default="0",
        info=zh("成立业主大会的交付套数比例（%）", "地方规定的另一条件：已交付的房屋套数达到总套数的此比例以上，也可筹备首次业主大会会议；0 为不适用",
                check=_from_one_to(100, basis="0 为不适用", lowest=0), local=True),
    )
    first_assembly_years: Mapped[int] = mapped_column(
        Integer, server_default="0",
        info=zh("首套房屋交付满（年）", "地方规定的另一条件：自首套房屋交付之日起满此年数，也可筹备首次业主大会会议；0 为不适用",
                check=_from_one_to(10, "年", "0 为不适用", lowest=0), local=True),
    )
    preparation_form_days: Mapped[int] = mapped_column(
        Integer, server_default="60",
        info=zh("筹备组成立期限（天）", "收到业主书面申请后此天数内成立筹备组；不超过 60 天（指导规则第九条）",
                check=_from_one_to(60, "天", f"{GUIDANCE}第九条"), local=True),
    )
    preparation_owner_percent: Mapped[int] = mapped_column(
        Integer, server_default="50",
        info=zh("筹备组业主代表比例（%）", "业主代表不低于筹备组总人数的此比例；不得低于 50%（指导规则第十条）",
                check=_owners_half, local=True),
    )
    preparation_announce_days: Mapped[int] = mapped_column(
        Integer, server_default="7",
        info=zh("筹备组名单公告期限（天）", "筹备组成立后此天数内公告成员名单；不超过 7 天（指导规则第十二条）",
                check=_from_one_to(7, "天", f"{GUIDANCE}第十二条"), local=True),
    )
    preparation_days: Mapped[int] = mapped_column(
        Integer, server_default="90",
        info=zh("筹备期限（天）", "筹备组成立后此天数内召开首次业主大会会议；不超过 90 天（指导规则第十五条）",
                check=_from_one_to(90, "天", f"{GUIDANCE}第十五条"), local=True),
    )

    # -- repair fund (维修资金) --
    fund_deposit_rate: Mapped[Decimal] = mapped_column(
        Money, default=Decimal("100.00"),  # the migration sets the stored default per database
        info=zh("维修资金交存标准（元/㎡）", "首期交存 = 建筑面积 × 此标准（一般为建安造价的 5%～8%，由当地主管部门公布）",
                check=positive, local=True),
    )
    fund_top_up_percent: Mapped[int] = mapped_column(
        Integer, server_default="30", info=zh("续交预警比例（%）", "分户账余额低于首期交存额的此比例时预警续交", check=positive),
    )
    fund_publicity_days: Mapped[int] = mapped_column(
        Integer, server_default="7",
        info=zh("方案公示天数", "业委会审核通过后公示的天数，期满方可表决；0 为不公示", check=_not_negative, local=True),
    )
    fund_vote_days: Mapped[int] = mapped_column(
        Integer, server_default="15",
        info=zh("表决期天数", "表决期满或全部投票后方可计票", check=positive, local=True),
    )
    fund_audit_threshold: Mapped[int] = mapped_column(
        Integer, server_default="30000",
        info=zh("审价门槛（元）", "决算金额超过此数须上传审价报告", check=positive, local=True),
    )
    fund_overrun_percent: Mapped[int] = mapped_column(
        Integer, server_default="10",
        info=zh("超预算重新审批比例（%）", "决算超出预算达到此比例须业委会重新审批", check=positive, local=True),
    )
    fund_disclosure_months: Mapped[int] = mapped_column(
        Integer, server_default="12",
        info=zh("维修资金公开周期（月）", "至少每年公开一次；地方可规定更短（如上海为 6 个月）", check=_from_one_to(12, "个月"),
                local=True),
    )
    fund_emergency_kinds: Mapped[str] = mapped_column(
        String(300), server_default="电梯故障、消防设施、屋面/外墙渗漏、外墙脱落、给排水、墙体/道路塌陷",
        info=zh("应急维修情形", "用顿号分隔；只有这些情形可走应急程序（无需表决）"),
    )

    # -- background work (app/jobs.py) -------------------------------------------------
    export_background_rows: Mapped[int] = mapped_column(
        Integer, server_default="5000",
        info=zh("后台导出行数", "导出超过此行数时转入后台，完成后在「我的下载」中下载", check=positive),
    )
    download_retention_days: Mapped[int] = mapped_column(
        Integer, server_default="7", info=zh("下载保留天数", "后台导出的文件保留此天数后删除", check=positive),
    )
    arrears_notice_days: Mapped[int] = mapped_column(
        Integer, server_default="30",
        info=zh("欠费催缴天数", "账期所在月结束后超过此天数仍未缴清的，列入工作台与每日提醒，可打印催缴通知书", check=positive),
    )
    quiet_hours_start: Mapped[int] = mapped_column(
        Integer, server_default="22", info=zh("免打扰开始（时）", "此时起（北京时间）不发短信和邮件，到免打扰结束时再发"),
    )
    quiet_hours_end: Mapped[int] = mapped_column(
        Integer, server_default="8", info=zh("免打扰结束（时）", "与开始相同则不设免打扰"),
    )
    messages_per_day: Mapped[int] = mapped_column(
        Integer, server_default="5",
        info=zh("每人每日短信/邮件上限", "同一手机号或邮箱 24 小时内最多收到的条数，超出的顺延", check=positive),
    )
    message_retention_days: Mapped[int] = mapped_column(
        Integer, server_default="180",
        info=zh("消息保留天数", "已读的站内消息、已发送和发送失败的短信/邮件记录保留此天数后删除（发送已记入操作日志）",
                check=positive),
    )
    reminder_hour: Mapped[int] = mapped_column(
        Integer, server_default="8",
        info=zh("每日提醒时间（时）", "每天此时（北京时间，0–23）起把各人工作台上的待办事项发到站内消息"),
    )

    # -- oversight (监督考核) and dashboards ---------------------------------------
    grid_event_days: Mapped[int] = mapped_column(
        Integer, server_default="3", info=zh("网格事件处置期限(天)", "派单时未填写期限的，按派单日加此天数", check=positive),
    )
    grid_max_levels: Mapped[int] = mapped_column(
        Integer, server_default="3", info=zh("网格最多层级", "如 3 表示 一级/二级/三级网格", check=positive),
    )
    rectification_days: Mapped[int] = mapped_column(
        Integer, server_default="15", info=zh("整改期限(天)", "下发整改通知时未填写期限的，按下发日加此天数", check=positive),
    )
    grade_excellent: Mapped[int] = mapped_column(
        Integer, server_default="90", info=zh("诚信考核优秀分数线", "总分达到此分数为优秀", check=positive),
    )
    grade_good: Mapped[int] = mapped_column(
        Integer, server_default="75", info=zh("诚信考核良好分数线", check=positive),
    )
    grade_pass: Mapped[int] = mapped_column(
        Integer, server_default="60", info=zh("诚信考核合格分数线", "低于此分数为不合格", check=positive),
    )
    star_residential_area: Mapped[int] = mapped_column(
        Integer, server_default="50000", info=zh("星级评定住宅型最低面积(㎡)", check=positive),
    )
    star_commercial_area: Mapped[int] = mapped_column(
        Integer, server_default="20000", info=zh("星级评定商务楼宇型最低面积(㎡)", check=positive),
    )
    committee_term_years: Mapped[int] = mapped_column(
        Integer, server_default="5", info=zh("业委会任期(年)", "法定每届不超过 5 年", check=positive),
    )
    committee_notice_days: Mapped[int] = mapped_column(
        Integer, server_default="90", info=zh("业委会换届提醒(天)", "任期届满前多少天起提醒筹备换届", check=positive),
    )
    vote_closing_days: Mapped[int] = mapped_column(
        Integer, server_default="14",
        info=zh("表决截止提醒(天)", "业主表决在截止前多少天起列入「即将截止的业主表决」", check=positive),
    )
    fee_effective_days: Mapped[int] = mapped_column(
        Integer, server_default="7",
        info=zh("收费标准生效提醒(天)", "公示中的收费标准在执行前多少天起列入「即将执行的收费标准」（按新标准生成账单）",
                check=positive),
    )
    contract_notice_days: Mapped[int] = mapped_column(
        Integer, server_default="90", info=zh("合同续聘提醒(天)", "物业服务人不续聘须在期满前九十日书面通知", check=positive),
    )
    contract_urgent_days: Mapped[int] = mapped_column(
        Integer, server_default="60", info=zh("合同紧急提醒(天)", "不定期合同解除须提前六十日书面通知", check=positive),
    )
    kpi_collection_rate: Mapped[int] = mapped_column(
        Integer, server_default="98", info=zh("收缴率目标(%)", "不低于", check=positive),
    )
    kpi_satisfaction: Mapped[int] = mapped_column(
        Integer, server_default="98", info=zh("满意度目标(%)", "不低于", check=positive),
    )
    kpi_complaint_rate: Mapped[int] = mapped_column(
        Integer, server_default="2", info=zh("有效投诉率上限(%)", "不高于", check=positive),
    )
    kpi_revisit_rate: Mapped[int] = mapped_column(
        Integer, server_default="30", info=zh("回访率目标(%)", "不低于", check=positive),
    )
    kpi_public_satisfaction: Mapped[int] = mapped_column(
        Integer, server_default="85", info=zh("群众满意率目标(%)", "不低于", check=positive),
    )

    # -- service desk deadlines (《物业精细化管理方案》4.3; 首问负责制) -----------------------
    repair_promise_days: Mapped[int] = mapped_column(
        Integer, server_default="2",
        info=zh("报修约定完成天数", "未另行约定时，约定完成时间为报修后此天数（一般 1～2 天）", check=positive),
    )
    repair_max_days: Mapped[int] = mapped_column(
        Integer, server_default="7",
        info=zh("报修最长完成天数", "约定完成时间（含延期）最迟为报修后此天数（一般不超过一周）", check=positive),
    )
    complaint_reply_hours: Mapped[int] = mapped_column(
        Integer, server_default="24", info=zh("投诉答复时限（小时）", "受理后须在此时限内答复", check=positive),
    )
    urgent_complaint_reply_hours: Mapped[int] = mapped_column(
        Integer, server_default="12", info=zh("紧急投诉答复时限（小时）", check=positive),
    )

    __table_args__ = (
        CheckConstraint("id = 1", name="ck_settings_single_row"),
        CheckConstraint("lockout_threshold > 0", name="ck_settings_lockout"),
        CheckConstraint("reminder_hour BETWEEN 0 AND 23", name="ck_settings_reminder_hour"),
        CheckConstraint("quiet_hours_start BETWEEN 0 AND 23 AND quiet_hours_end BETWEEN 0 AND 23",
                        name="ck_settings_quiet_hours"),
        CheckConstraint("fund_publicity_days >= 0", name="ck_settings_fund_publicity_days"),
        CheckConstraint("committee_term_years BETWEEN 1 AND 5", name="ck_settings_committee_term"),
        CheckConstraint("committee_seats_min > 0 AND committee_seats_min <= committee_seats_max",
                        name="ck_settings_committee_seats"),
        CheckConstraint("committee_filing_days BETWEEN 1 AND 30", name="ck_settings_committee_filing"),
        CheckConstraint("first_assembly_delivered_percent BETWEEN 1 AND 100 AND preparation_owner_percent BETWEEN 50 AND 100 "
                        "AND preparation_form_days BETWEEN 1 AND 60 AND preparation_announce_days BETWEEN 1 AND 7 "
                        "AND preparation_days BETWEEN 1 AND 90 AND first_assembly_units_percent BETWEEN 0 AND 100 "
                        "AND first_assembly_years BETWEEN 0 AND 10", name="ck_settings_first_assembly"),
        CheckConstraint("extraordinary_proposal_percent BETWEEN 1 AND 20", name="ck_settings_proposal_percent"),
        CheckConstraint("grade_pass <= grade_good AND grade_good <= grade_excellent", name="ck_settings_grades"),
        CheckConstraint("repair_promise_days > 0 AND repair_max_days >= repair_promise_days",
                        name="ck_settings_repair_days"),
        CheckConstraint("complaint_reply_hours > 0 AND urgent_complaint_reply_hours > 0",
                        name="ck_settings_complaint_hours"),
    )

    def __str__(self) -> str:
        return "系统设置"

    @classmethod
    def current(cls, session: Session) -> "Settings":
        return session.execute(select(cls).where(cls.id == 1)).scalar_one()

    class Admin(Admin):
        label = "系统设置"
        menu = Menu.SYSTEM
        icon = "fa-sliders"
        list_columns = ("lockout_threshold", "complaint_hotline", "fund_deposit_rate", "fund_publicity_days",
                        "repair_promise_days", "complaint_reply_hours")
        actions = frozenset({"edit"})
        scope_path = None
        rules = (
            lambda v: [("committee_term_years", "业委会每届任期为 1 至 5 年")]
            if v.get("committee_term_years") is not None and not 1 <= v["committee_term_years"] <= 5 else [],
            lambda v: [("committee_seats_max", "委员最多人数不能少于最少人数")]
            if v.get("committee_seats_min") and v.get("committee_seats_max")
            and v["committee_seats_max"] < v["committee_seats_min"] else [],
            lambda v: [("grade_good", "分数线须满足 合格 ≤ 良好 ≤ 优秀")]
            if None not in (v.get("grade_pass"), v.get("grade_good"), v.get("grade_excellent"))
            and not v["grade_pass"] <= v["grade_good"] <= v["grade_excellent"] else [],
            lambda v: [(field, "时刻须在 0 到 23 时之间") for field in ("reminder_hour", "quiet_hours_start", "quiet_hours_end")
                       if v.get(field) is not None and not 0 <= v[field] <= 23],
            lambda v: [("repair_max_days", "报修最长完成天数不能少于约定完成天数")]
            if v.get("repair_max_days") and v.get("repair_promise_days")
            and v["repair_max_days"] < v["repair_promise_days"] else [],
        )


# -- 地方规定: a district's own value of a setting where the law lets localities differ ----------

#: the settings a district may set for itself (declared ``local=True`` on the column)
LOCAL_SETTINGS = Choices(*[(c.name, c.info["label"]) for c in Settings.__table__.columns if c.info.get("local")])
_YES, _NO = ("是", "1", "true", "True"), ("否", "0", "false", "False")


def local_value(setting: str, text: str) -> Any:
    """A district's value as the national column holds it, or ValueError in Chinese: the
    column's own check applies (a notice below the law's 15 days is refused here too)."""
    column = Settings.__table__.columns[setting]
    text = (text or "").strip()
    if isinstance(column.type, Boolean):
        if text not in _YES + _NO:
            raise ValueError("请填写“是”或“否”")
        return text in _YES
    if isinstance(column.type, Integer):
        try:
            value = int(text)
        except ValueError:
            raise ValueError("请填写整数") from None
    else:  # an amount in yuan, exact to the fen as the national column
        try:
            value = Decimal(text)
            exact = value.is_finite() and abs(value) < 10**9 and value == value.quantize(Decimal("0.01"))
        except InvalidOperation:
            exact = False
        if not exact:
            raise ValueError("请填写金额（元），最多两位小数，如 120.50")
    problem = column.info.get("check", lambda _v: None)(value)
    if problem:
        raise ValueError(problem)
    return value


def _valid_local_value(values: dict) -> list[tuple[str, str]]:
    if values.get("setting") not in LOCAL_SETTINGS.codes or values.get("value") in (None, ""):
        return []
    try:
        local_value(values["setting"], values["value"])
    except ValueError as problem:
        return [("value", f"{LOCAL_SETTINGS.label(values['setting'])}：{problem}")]
    return []


class LocalSetting(Entity):
    """地方规定: one setting of one district, with the local rule it comes from."""

    __tablename__ = "local_setting"

    district_id: Mapped[int] = fk("district.id")
    district: Mapped[District] = relationship(info=zh("适用区"))
    setting: Mapped[str] = mapped_column(String(40), info=zh("设置项", choices=LOCAL_SETTINGS))
    value: Mapped[str] = mapped_column(String(20), info=zh("本区取值", "整数、金额，或“是”/“否”；法律规定底线的不得突破"))
    basis: Mapped[str] = mapped_column(String(200), info=zh("依据", "如《北京市物业管理条例》第二十条"))

    __table_args__ = (
        UniqueConstraint("district_id", "setting", name="uq_local_setting", info={"message": "该区已有这一设置项的地方规定"}),
        LOCAL_SETTINGS.constraint("setting", "ck_local_setting_setting"),
    )

    def __str__(self) -> str:
        return f"{self.district} {LOCAL_SETTINGS.label(self.setting)}"

    class Admin(Admin):
        label = "地方规定"
        menu = Menu.SYSTEM
        icon = "fa-balance-scale"
        list_columns = ("district", "setting", "value", "basis")
        search_columns = ("district", "setting")
        order_by = ("id", "asc")
        scope_path = None
        rules = (_valid_local_value,)


class LocalSettings:
    """The settings as they apply in one estate: its district's 地方规定, else the national value."""

    def __init__(self, national: Settings, overrides: dict[str, Any]):
        self._national, self._overrides = national, overrides

    def __getattr__(self, name: str) -> Any:
        return self._overrides[name] if name in self._overrides else getattr(self._national, name)


def settings_for(session: Session, estate_id: int) -> LocalSettings:
    """The settings in force in an estate (one query for its district's local rules)."""
    rows = _local_rules(session, [estate_id])
    return LocalSettings(Settings.current(session), {name: local_value(name, text) for _estate, name, text in rows})


def setting_in_estates(session: Session, name: str, estate_ids: list[int]) -> dict[int, Any]:
    """One setting as it applies in each of several estates (one query for their local rules)."""
    national = getattr(Settings.current(session), name)
    local = {estate_id: local_value(name, text) for estate_id, _name, text in _local_rules(session, estate_ids, name)}
    return {estate_id: local.get(estate_id, national) for estate_id in estate_ids}


def _local_rules(session: Session, estate_ids: list[int], setting: str | None = None) -> list[Any]:
    """(estate id, setting, value) of the 地方规定 of the estates' districts (one setting, or all)."""
    from models.estate import Estate
    from models.region import Community, Street

    query = (select(Estate.id, LocalSetting.setting, LocalSetting.value)
             .join(Community, Community.id == Estate.community_id).join(Street, Street.id == Community.street_id)
             .join(LocalSetting, LocalSetting.district_id == Street.district_id)
             .where(among(Estate.id, estate_ids, session.get_bind().dialect.name)))
    if setting is not None:
        query = query.where(LocalSetting.setting == setting)
    # which rules apply to an estate does not depend on who asks (the public board, a job, any role)
    return session.execute(query, execution_options={ALL_ESTATES: True}).all()
