"""Demo oversight: grids with their members and events, integrity assessments, star
ratings (only where the estate is large enough) and inspections with rectification
notices, in every state so that the dashboards and the 工作台 have something to show.

Records are placed straight into their states, each with the timeline a person would
have left; dates hang off ``today`` so that "overdue" stays overdue.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app import fakes
from models import clock
from models.estate import Estate
from models.oversight import (
    AssessmentItem, Grid, GridEvent, GridMember, Inspection, IntegrityAssessment, RectificationNotice,
    StarRating, eligibility_problem, estate_managed_area, grade_for,
)
from models.settings import Settings
from models.workflow import WorkflowEvent

ZONES = ("东区", "西区", "南区")
#: (title, category, source, location) of typical grid events
EVENTS = (
    ("楼道堆放杂物", "sanitation", "patrol", "单元楼道"),
    ("路灯不亮", "facility", "resident", "小区主路"),
    ("私搭乱建阳光房", "building", "patrol", "顶层露台"),
    ("电动自行车楼道充电", "safety", "camera", "单元门厅"),
    ("井盖松动", "facility", "hotline", "地下车库入口"),
    ("宠物扰民", "dispute", "resident", "楼栋周边"),
    ("消防通道被占用", "safety", "patrol", "消防通道"),
    ("垃圾桶满溢", "sanitation", "app", "垃圾分类驿站"),
)
#: (state, share): most events are done, some are under way, a few just came in
EVENT_STATES = (("closed", 0.55), ("handled", 0.12), ("dispatched", 0.18), ("reported", 0.08))
EVENTS_PER_GRID = (3, 6)
#: 考核项目 and their full marks (sum: 100)
ASSESSMENT_ITEMS = (
    ("基础管理", 15), ("房屋及共用设施设备管理", 20), ("秩序维护与消防安全", 20),
    ("环境卫生与绿化", 20), ("客户服务与投诉处理", 15), ("收费公示与财务管理", 10),
)
INSPECTION_SUBJECTS = ("消防安全专项检查", "环境卫生检查", "收费公示检查", "电梯安全检查")


def load_oversight(session: Session, rng: random.Random, estate_ids: list[int], official: str, manager: str,
                   today: dt.date | None = None) -> dict[str, int]:
    today = today or clock.today()
    settings = Settings.current(session)
    counts: Counter[str] = Counter()
    timeline: list[dict] = []
    for index, estate_id in enumerate(estate_ids):
        estate = session.get(Estate, estate_id)
        grids = _grids(session, rng, estate, counts)
        _events(session, rng, estate, grids, official, manager, today, settings, counts, timeline)
        _assessments(session, rng, estate, official, today, settings, counts, timeline, current=index == 0)
        _star_ratings(session, estate, official, today, counts, timeline)
        _inspections(session, rng, estate, official, manager, today, settings, counts, timeline)
    session.flush()
    if timeline:
        session.execute(insert(WorkflowEvent), timeline)
    return dict(counts)


def _steps(timeline: list[dict], item, steps: list[tuple[str, str, str, str, str]], day: dt.date) -> None:
    """The timeline of a record placed straight into its state: one step per day from ``day``."""
    for offset, (name, source, target, user, comment) in enumerate(steps):
        timeline.append(dict(
            table_name=item.__tablename__, record_id=item.id, transition=name, from_state=source,
            to_state=target, comment=comment, user_id=None, username=user,
            created_at=dt.datetime.combine(day + dt.timedelta(days=offset), dt.time(9 + offset % 8)),
        ))


def _grids(session: Session, rng: random.Random, estate: Estate, counts: Counter[str]) -> list[Grid]:
    """One 一级网格 per estate and two or three 二级网格 under it, each with its people."""
    top = Grid(estate=estate, number=f"{estate.code}-01", name=f"{estate.name}一级网格", level=1,
               leader=fakes.person_name(rng), phone=f"010-{rng.randint(5000_0000, 8999_9999)}",
               coverage="小区全域")
    grids = [top]
    for number, zone in enumerate(ZONES[: rng.randint(2, 3)], 2):
        grids.append(Grid(estate=estate, parent=top, level=2, number=f"{estate.code}-{number:02d}",
                          name=f"{estate.name}{zone}网格", leader=fakes.person_name(rng),
                          phone=fakes.mobile(rng), coverage=f"{zone}各楼栋及周边道路"))
    session.add_all(grids)
    for grid in grids:
        people = [("leader", "社区居委会")] + [("member", "物业项目部")] * rng.randint(1, 2)
        if grid.parent is None:
            people.append(("coordinator", "社区居委会"))
        session.add_all(GridMember(grid=grid, name=fakes.person_name(rng), duty=duty, mobile=fakes.mobile(rng),
                                   organisation=org) for duty, org in people)
        counts["网格员"] += len(people)
    counts["网格"] += len(grids)
    session.flush()
    return grids


def _pick_state(rng: random.Random) -> str:
    x = rng.random()
    for state, share in EVENT_STATES:
        if x < share:
            return state
        x -= share
    return "collected"


def _events(session, rng, estate, grids, official, manager, today, settings, counts, timeline) -> None:
    days = settings.grid_event_days
    for grid in grids[1:]:
        for _ in range(rng.randint(*EVENTS_PER_GRID)):
            title, category, source, location = rng.choice(EVENTS)
            state = _pick_state(rng)
            collected = today - dt.timedelta(days=rng.randint(2, 60))
            handler = fakes.person_name(rng)
            event = GridEvent(grid=grid, estate=estate, title=title, category=category, source=source,
                              location=location, collected_by=grid.leader, collected_on=collected, state=state)
            steps = [("report", "collected", "reported", grid.leader, "")] if state != "collected" else []
            if state in ("dispatched", "handled", "closed"):
                event.handler = handler
                # a fifth of the dispatched ones are past their deadline (超时)
                overdue = state == "dispatched" and rng.random() < 0.4
                start = today - dt.timedelta(days=days + rng.randint(1, 5)) if overdue else max(
                    collected, today - dt.timedelta(days=rng.randint(0, days - 1)))
                event.deadline = start + dt.timedelta(days=days)
                steps.append(("dispatch", "reported", "dispatched", official, f"派{handler}处置"))
            if state in ("handled", "closed"):
                late = rng.random() < 0.1
                event.handled_on = min(today, event.deadline + dt.timedelta(days=2 if late else -rng.randint(0, days - 1)))
                event.result = "已现场处置完毕，拍照留存"
                steps.append(("handle", "dispatched", "handled", manager, event.result))
                if rng.random() < 0.15:  # the resident was not satisfied the first time
                    event.reopen_count = 1
                    steps += [("reopen", "handled", "dispatched", official, "居民反映问题未彻底解决"),
                              ("handle", "dispatched", "handled", manager, "二次处置完毕")]
            if state == "closed":
                event.visited_on = event.handled_on
                steps.append(("close", "handled", "closed", official, "回访居民表示满意"))
            session.add(event)
            session.flush()
            _steps(timeline, event, steps, collected)
            counts["网格事件"] += 1


def _assessment(session, rng, estate, period, assessed_on, official, state, settings, counts, timeline):
    assessment = IntegrityAssessment(estate=estate, company=estate.company, period=period, assessed_on=assessed_on,
                                     assessors=f"{official}、社区物业专干", state=state,
                                     opinion="服务基本规范，个别问题已要求限期整改")
    for name, full in ASSESSMENT_ITEMS:
        lost = Decimal(rng.randint(0, full * 2)) / 10 * Decimal(rng.choice((0, 1, 1, 2)))
        score = max(Decimal(0), Decimal(full) - lost).quantize(Decimal("0.1"))
        assessment.items.append(AssessmentItem(name=name, max_score=Decimal(full), score=score,
                                               note="检查发现问题，按标准扣分" if lost else None))
    if state == "published":
        assessment.score = sum((i.score for i in assessment.items), Decimal(0))
        assessment.grade = grade_for(assessment.score, settings)
        assessment.published_on = assessed_on + dt.timedelta(days=7)
    session.add(assessment)
    session.flush()
    counts["诚信考核"] += 1
    counts["考核项目"] += len(assessment.items)
    if state == "published":
        _steps(timeline, assessment, [("publish", "draft", "published", official, "")], assessment.published_on)


def _assessments(session, rng, estate, official, today, settings, counts, timeline, *, current: bool) -> None:
    """Last year's published result for every estate; this year's in progress for one."""
    last = dt.date(today.year - 1, 12, 15)
    _assessment(session, rng, estate, f"{today.year - 1}年度", last, official, "published", settings, counts, timeline)
    if current:
        _assessment(session, rng, estate, f"{today.year}年度", today - dt.timedelta(days=5), official, "draft",
                    settings, counts, timeline)


def _star_ratings(session, estate, official, today, counts, timeline) -> None:
    """Only an estate large enough has applied (the rule the system enforces); a smaller
    one has a draft, whose page says why it cannot be submitted."""
    if eligibility_problem(session, estate.id, "residential"):
        session.add(StarRating(estate=estate, company=estate.company, year=today.year, project_type="residential"))
        counts["星级评定"] += 1
        return
    area = estate_managed_area(session, estate.id)
    rated = StarRating(estate=estate, company=estate.company, year=today.year - 1, project_type="residential",
                       applied_on=dt.date(today.year - 1, 8, 20), managed_area=area, stars="4", state="rated",
                       note="考评验收合格")
    applied = StarRating(estate=estate, company=estate.company, year=today.year, project_type="residential",
                         applied_on=dt.date(today.year, 8, 18), managed_area=area, state="applied")
    session.add_all((rated, applied))
    session.flush()
    _steps(timeline, rated, [("apply", "draft", "applied", official, ""),
                             ("rate", "applied", "rated", official, "考评验收合格，评为四星")], dt.date(today.year - 1, 8, 20))
    _steps(timeline, applied, [("apply", "draft", "applied", official, "")], dt.date(today.year, 8, 18))
    counts["星级评定"] += 2


def _inspections(session, rng, estate, official, manager, today, settings, counts, timeline) -> None:
    """One passed inspection, one with notices: closed, answered and waiting (one overdue)."""
    first, second = rng.sample(INSPECTION_SUBJECTS, 2)
    session.add(Inspection(estate=estate, company=estate.company, inspected_on=today - dt.timedelta(days=70),
                           inspectors=official, subject=first, conclusion="pass", findings="未发现问题"))
    visit = today - dt.timedelta(days=rng.randint(20, 30))
    inspection = Inspection(estate=estate, company=estate.company, inspected_on=visit, inspectors=official,
                            subject=second, conclusion="rectify", findings="消防通道堆物；部分灭火器压力不足")
    session.add(inspection)
    counts["监督检查"] += 2
    notices = (
        ("closed", "清理消防通道堆放物品，设置禁止堆放标识", settings.rectification_days),
        ("responded", "更换压力不足的灭火器并建立月检记录", settings.rectification_days),
        ("issued", "完善消防控制室值班记录", rng.choice((7, settings.rectification_days + 30))),
    )
    for serial, (state, requirement, days) in enumerate(notices, 1):
        notice = RectificationNotice(inspection=inspection, estate=estate, state=state, issued_on=visit,
                                     notice_no=f"ZG-{estate.code}-{visit:%Y%m}-{serial:02d}",
                                     requirements=requirement, deadline=visit + dt.timedelta(days=days))
        steps = []
        if state in ("responded", "closed"):
            notice.response = "已按要求整改完毕，附整改前后照片"
            notice.responded_on = visit + dt.timedelta(days=5)
            steps.append(("respond", "issued", "responded", manager, notice.response))
        if state == "closed":
            notice.closed_on = visit + dt.timedelta(days=8)
            steps.append(("close", "responded", "closed", official, "复查合格"))
        session.add(notice)
        session.flush()
        _steps(timeline, notice, steps, visit + dt.timedelta(days=5))
        counts["整改通知"] += 1
