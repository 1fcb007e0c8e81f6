"""Demo operations: a month of service-desk traffic and the safety and quality records
around it, for every estate, so that each list and dashboard has something to show.

Everything is drawn from the demo's seeded generator; times hang off "now" (like the
fee demo's today) so that overdue orders stay overdue and recent ones stay open: some
orders overdue, some reopened, some postponed, satisfaction at every 回访, open hazards
and a drill whose findings became hazards.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import fakes
from models.community_life import CommunityEvent, KeyLoan, Notice, PaidService, Renovation, Visitor
from models.company import Employee
from models.estate import Unit
from models.safety import EmergencyDrill, EmergencyPlan, Hazard, InspectionPlan, InspectionRecord, findings_to_hazards
from models.clock import local_now
from models.service_orders import Complaint, RepairOrder
from models.staff_quality import (
    StaffAppraisal, Survey, SurveyAnswer, SurveyQuestion, SurveyResponse, Training,
)

#: service-desk requests in the last ``DAYS`` days: the large estate, every other estate
ORDERS, SMALL_ORDERS, DAYS = 40, 12, 30
REPAIRS = (
    ("plumbing", "厨房下水道堵塞", "室内厨房"), ("electric", "楼道声控灯不亮", "楼道"),
    ("door", "单元门禁刷卡无反应", "单元门"), ("elevator", "电梯按钮失灵", "电梯轿厢"),
    ("wall", "顶层卫生间渗水", "卫生间顶板"), ("public", "小区路灯损坏", "中心花园"),
    ("indoor", "入户水表漏水", "水表井"),
)
COMPLAINTS = (
    ("cleaning", "楼道垃圾清运不及时"), ("noise", "夜间装修噪声扰民"), ("parking", "消防通道被车辆占用"),
    ("attitude", "前台人员答复不耐烦"), ("security", "单元门长期未关闭"), ("repair", "维修后仍然漏水"),
    ("fees", "对停车费收取有疑问"),
)
SATISFACTION = (("very_satisfied", 50), ("satisfied", 35), ("fair", 15))
QUESTIONS = ("您对客服中心的接待服务是否满意", "您对报修维修的及时性是否满意", "您对公共区域保洁是否满意",
             "您对秩序维护和安全管理是否满意", "您对绿化养护是否满意")
#: answer levels "5" … "1" with their weights (综合满意率 a little under the 98% target)
LEVELS = (("5", 55), ("4", 33), ("3", 8), ("2", 3), ("1", 1))


def load_operations(session: Session, rng: random.Random, estate_ids: list[int],
                    now: dt.datetime | None = None) -> dict[str, int]:
    now = (now or local_now()).replace(second=0, microsecond=0)
    counts: Counter[str] = Counter()
    for index, estate_id in enumerate(estate_ids):
        staff = list(session.scalars(select(Employee).where(Employee.estate_id == estate_id).order_by(Employee.id)))
        units = list(session.scalars(select(Unit.id).where(Unit.estate_id == estate_id).order_by(Unit.id).limit(200)))
        size = ORDERS if index == 0 else SMALL_ORDERS
        rows = [
            *_repairs(rng, estate_id, staff, units, now, size),
            *_complaints(rng, estate_id, staff, units, now, size // 2),
            *_community(rng, estate_id, units, now),
            *_quality(rng, estate_id, staff, now),
        ]
        session.add_all(rows)
        session.flush()
        rows += _safety(session, rng, estate_id, staff, now, large=index == 0)
        rows += _survey(session, rng, estate_id, units, now, answers=20 if index == 0 else 6)
        counts.update(type(row).Admin.label for row in rows)
    session.flush()
    return dict(counts)


def _when(rng: random.Random, now: dt.datetime, days: int) -> dt.datetime:
    return now - dt.timedelta(minutes=rng.randint(30, days * 24 * 60))


def _satisfaction(rng: random.Random) -> str:
    return rng.choices([s for s, _ in SATISFACTION], [w for _, w in SATISFACTION])[0]


def _repairs(rng, estate_id, staff, units, now, size) -> list[RepairOrder]:
    orders = []
    for k in range(size):
        category, what, where = rng.choice(REPAIRS)
        reported = _when(rng, now, DAYS)
        order = RepairOrder(
            estate_id=estate_id, unit_id=rng.choice(units) if category in ("plumbing", "indoor", "wall") else None,
            requester=fakes.person_name(rng), phone=fakes.mobile(rng), channel=rng.choice(("phone", "wechat", "app", "desk")),
            category=category, location=where, description=what, first_receiver_id=rng.choice(staff).id,
            handler_id=rng.choice(staff).id, reported_at=reported,
            deadline=reported + dt.timedelta(days=rng.choice((1, 2, 2))),
        )
        age = now - reported
        if k % 17 == 5:
            order.state, order.handler_id = "pending", None
        elif age < dt.timedelta(days=3) or k % 9 == 0:
            order.state = "processing"  # recent, or stuck: these run past their deadline
            if k % 9 == 0 and age > dt.timedelta(days=3):
                order.original_deadline = order.deadline
                order.deadline = reported + dt.timedelta(days=5)  # 延期 once, within the week
        elif k % 13 == 0:
            order.state, order.result = "closed", None
        else:
            order.finished_at = reported + dt.timedelta(hours=rng.randint(3, 60))
            order.result = "已维修完毕，经报修人确认"
            if k % 7 == 3:
                order.state = "visiting"
            else:
                order.state, order.satisfaction = "done", _satisfaction(rng)
                order.visited_at = order.finished_at + dt.timedelta(hours=rng.randint(2, 48))
                if k % 6 == 1:  # not satisfied at the first 回访: reopened, then put right
                    order.reopen_count = 1
                    order.deadline = order.finished_at + dt.timedelta(days=2)
                    order.finished_at += dt.timedelta(hours=rng.randint(4, 40))
                    order.visited_at = order.finished_at + dt.timedelta(hours=6)
        orders.append(order)
    return orders


def _complaints(rng, estate_id, staff, units, now, size) -> list[Complaint]:
    complaints = []
    for k in range(size):
        category, what = rng.choice(COMPLAINTS)
        received = _when(rng, now, DAYS)
        urgent = k % 5 == 2
        complaint = Complaint(
            estate_id=estate_id, unit_id=rng.choice(units), complainant=fakes.person_name(rng),
            phone=fakes.mobile(rng), channel=rng.choice(("phone", "wechat", "box", "desk")),
            kind="suggestion" if k % 8 == 7 else "complaint", category=category,
            urgency="urgent" if urgent else "normal", content=what, first_receiver_id=rng.choice(staff).id,
            responsible_id=rng.choice(staff).id, received_at=received, valid=k % 6 != 4,
        )
        hours = 12 if urgent else 24
        age = now - received
        if age < dt.timedelta(hours=hours * 2) or k % 10 == 3:
            complaint.state = "handling" if k % 2 else "received"  # some of them overdue
        else:
            complaint.replied_at = received + dt.timedelta(hours=rng.randint(1, hours + 8))
            complaint.cause, complaint.measures = "已核实情况属实", "已安排专人整改并加强日常巡查"
            complaint.reply = "已向投诉人说明处理结果"
            if k % 4 == 1:
                complaint.state = "visiting"
            else:
                complaint.state, complaint.satisfaction = "done", _satisfaction(rng)
                complaint.visited_at = complaint.replied_at + dt.timedelta(hours=rng.randint(2, 30))
                if k % 7 == 2:
                    complaint.reopen_count = 1
                    complaint.deadline = complaint.replied_at + dt.timedelta(hours=hours)
        complaints.append(complaint)
    return complaints


def _community(rng, estate_id, units, now) -> list:
    today = now.date()
    rows: list = []
    for _ in range(8):
        entered = _when(rng, now, 7)
        rows.append(Visitor(
            estate_id=estate_id, name=fakes.person_name(rng), id_number=fakes.id_card(rng), mobile=fakes.mobile(rng),
            visiting=f"{rng.randint(1, 9)}号楼{rng.randint(1, 3)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}",
            purpose=rng.choice(("探亲访友", "送货上门", "家电维修", "房屋中介看房")),
            entered_at=entered, left_at=entered + dt.timedelta(minutes=rng.randint(20, 240)), guard="门岗值班员",
        ))
    for k in range(3):
        starts = today - dt.timedelta(days=rng.randint(0, 60))
        rows.append(Renovation(
            estate_id=estate_id, unit_id=units[(k * 7) % len(units)], applicant=fakes.person_name(rng),
            contractor=rng.choice(("北京居然装饰工程有限公司", "北京美家装饰有限公司", "北京安居装修工程有限公司")),
            contractor_phone=fakes.mobile(rng), scope="厨卫改造、墙面翻新，不涉及承重结构",
            starts_on=starts, ends_on=starts + dt.timedelta(days=60), deposit=Decimal("3000.00"),
            status=("working", "applied", "accepted")[k],
        ))
    for k, key in enumerate(("3号楼天台门 K-03", "地下车库配电室 K-11", "会所活动室 K-20", "水泵房 K-07")):
        lent = _when(rng, now, 10)
        rows.append(KeyLoan(
            estate_id=estate_id, key_name=key, borrower=fakes.person_name(rng), mobile=fakes.mobile(rng),
            purpose=rng.choice(("设备检修", "活动布置", "屋面防水施工")), lent_at=lent,
            due_back_at=lent + dt.timedelta(hours=8),
            returned_at=None if k == 0 else lent + dt.timedelta(hours=rng.randint(1, 8)), handled_by="客服中心",
        ))
    for title, kind, days, people in (("邻里文化节", "festival", 40, 320), ("夏季消防安全宣传", "safety", 20, 150),
                                      ("老年人健康讲座", "lecture", 8, 60)):
        rows.append(CommunityEvent(estate_id=estate_id, title=title, kind=kind, held_on=today - dt.timedelta(days=days),
                                   place="中心广场", organizer="客服中心", participants=people,
                                   summary="活动顺利开展，居民反响良好"))
    for name, category, price, unit_name in (
        ("疏通下水道", "repair", "80.00", "次"), ("更换水龙头", "repair", "30.00", "个"),
        ("家庭保洁", "cleaning", "45.00", "小时"), ("擦玻璃", "cleaning", "8.00", "㎡"),
        ("大件搬运", "moving", "100.00", "次"), ("装修垃圾清运", "garbage", "300.00", "车"),
    ):
        rows.append(PaidService(estate_id=estate_id, name=name, category=category, price=Decimal(price),
                                unit_name=unit_name, description="材料费另计", available=True))
    published = dt.datetime.combine(today - dt.timedelta(days=5), dt.time(9))
    rows += [
        Notice(estate_id=estate_id, kind="outage", title="二次供水水箱清洗停水通知",
               content="因二次供水水箱清洗消毒，届时将临时停水，请提前储水。",
               publish_on=published.date(), expires_on=published.date() + dt.timedelta(days=10),
               published_at=published, state="published"),
        Notice(estate_id=estate_id, kind="announcement", title="物业服务费收缴情况公示",
               content="本季度物业服务费收缴情况及公共收益收支情况公示如下，欢迎业主监督。",
               publish_on=today - dt.timedelta(days=20), published_at=published - dt.timedelta(days=15),
               state="published"),
        Notice(estate_id=estate_id, kind="reminder", title="冬季防火温馨提示",
               content="冬季天干物燥，请勿在楼道堆放杂物，电动自行车请勿入户充电。", state="draft"),
    ]
    return rows


def _quality(rng, estate_id, staff, now) -> list:
    today = now.date()
    rows: list = [
        Training(estate_id=estate_id, topic="住户服务与沟通技巧", form="lecture", held_on=today - dt.timedelta(days=45),
                 trainer="客服主管", staff_count=len(staff), resident_count=0, assessment="exam",
                 passed_count=len(staff) - 1, summary="讲授首问负责制与投诉接待规范"),
        Training(estate_id=estate_id, topic="消防安全与应急处置", form="drill", held_on=today - dt.timedelta(days=15),
                 trainer="安保主管", staff_count=len(staff), resident_count=25, assessment="practice",
                 passed_count=len(staff) + 25, summary="灭火器使用、疏散引导实操"),
    ]
    period = f"{today.year}年第{(today.month - 1) // 3 + 1}季度"
    for person in staff[:6]:
        score = rng.randint(62, 98)
        grade = "excellent" if score >= 90 else "good" if score >= 80 else "fair" if score >= 60 else "poor"
        rows.append(StaffAppraisal(estate_id=estate_id, employee_id=person.id, period=period, score=score,
                                   grade=grade, reward="通报表扬" if grade == "excellent" else None,
                                   appraiser="项目经理"))
    return rows


def _safety(session, rng, estate_id, staff, now, large: bool) -> list:
    today = now.date()
    plans = [
        InspectionPlan(estate_id=estate_id, name="秩序维护每日巡逻", kind="security", cycle="daily",
                       items="出入口\n停车场\n楼道\n围墙周界", inspector_id=staff[0].id, starts_on=today - dt.timedelta(days=90)),
        InspectionPlan(estate_id=estate_id, name="消防设施每周检查", kind="fire", cycle="weekly",
                       items="灭火器压力\n消火栓\n疏散通道\n应急照明", inspector_id=staff[1].id, starts_on=today - dt.timedelta(days=90)),
        InspectionPlan(estate_id=estate_id, name="设施设备半月巡检", kind="equipment", cycle="half_month",
                       items="外观检查\n运行状态监测\n安全隐患排查", inspector_id=staff[2].id, starts_on=today - dt.timedelta(days=90)),
    ]
    session.add_all(plans)
    session.flush()
    records = []
    for day in range(10):
        plan = plans[day % 3]
        issue = day == 4
        records.append(InspectionRecord(
            estate_id=estate_id, plan_id=plan.id, inspector_id=plan.inspector_id,
            inspected_at=dt.datetime.combine(today - dt.timedelta(days=day), dt.time(9, 30)),
            result="issue" if issue else "normal", findings="地下车库消火栓箱玻璃破损" if issue else None,
        ))
    hazards = [
        Hazard(estate_id=estate_id, source="inspection", category="fire", location="地下车库",
               description="消火栓箱玻璃破损", found_on=today - dt.timedelta(days=6), state="found"),
        Hazard(estate_id=estate_id, source="daily", category="electric", location="2号楼配电间",
               description="配电柜接线老化发热", found_on=today - dt.timedelta(days=20), responsible_id=staff[1].id,
               due_on=today - dt.timedelta(days=5), state="rectifying"),
        Hazard(estate_id=estate_id, source="report", category="height", location="5号楼外墙",
               description="外墙瓷砖空鼓有脱落风险", found_on=today - dt.timedelta(days=3), responsible_id=staff[2].id,
               due_on=today + dt.timedelta(days=12), state="rectifying"),
        Hazard(estate_id=estate_id, source="inspection", category="traffic", location="南门车行道",
               description="减速带缺失", found_on=today - dt.timedelta(days=15), responsible_id=staff[0].id,
               due_on=today + dt.timedelta(days=1), measures="已重新安装减速带", rectified_on=today - dt.timedelta(days=1),
               state="rectified"),
        Hazard(estate_id=estate_id, source="inspection", category="fire", location="3号楼楼道",
               description="楼道堆放杂物堵塞疏散通道", found_on=today - dt.timedelta(days=30), responsible_id=staff[0].id,
               due_on=today - dt.timedelta(days=25), measures="已清理杂物并张贴提示", rectified_on=today - dt.timedelta(days=26),
               reviewed_on=today - dt.timedelta(days=24), state="closed"),
    ]
    contents = {
        "organization": "成立应急指挥小组，项目经理任组长，秩序维护、工程、客服各设响应小组，明确成员分工。",
        "warning": "监控中心发现险情立即报告值班经理，5 分钟内通知指挥小组并视情况报警。",
        "response": "现场控制、切断电源气源、组织人员疏散、协助医疗救援。",
        "resources": "应急物资仓库配备灭火器、应急照明、担架、对讲机，应急队伍不少于 3 人。",
        "aftermath": "清点人员、恢复设施、调查原因、评估处置效果并修订预案。",
    }
    fire_plans = [EmergencyPlan(estate_id=estate_id, kind="fire", version=v, title="火灾应急预案", owner="项目经理",
                                state="published", published_on=today - dt.timedelta(days=400 - 300 * (v - 1)),
                                **contents) for v in ((1, 2) if large else (1,))]
    draft = EmergencyPlan(estate_id=estate_id, kind="elevator", version=1, title="电梯困人应急预案", owner="工程主管",
                          state="draft", **{**contents, "aftermath": None})
    session.add_all([*records, *hazards, *fire_plans, draft])
    session.flush()
    # evaluated: its findings are in the ledger, as the 评估 transition would have put them
    drill = EmergencyDrill(
        estate_id=estate_id, plan_id=fire_plans[-1].id, title="年度消防疏散演练", drill_type="live",
        held_on=today - dt.timedelta(days=10), location="4号楼及中心广场", staff_count=len(staff), resident_count=48,
        content="火情报告、初期灭火、人员疏散、医疗救护", state="evaluated", evaluation="good", hazard_category="fire",
        findings="部分楼层应急照明不亮\n疏散指示标志被遮挡",
    )
    planned = EmergencyDrill(estate_id=estate_id, plan_id=fire_plans[-1].id, title="电梯困人桌面推演",
                             drill_type="tabletop", held_on=today + dt.timedelta(days=20), staff_count=0,
                             resident_count=0, state="planned")
    session.add_all([drill, planned])
    session.flush()
    findings_to_hazards(drill, session)
    session.flush()
    created = list(session.scalars(select(Hazard).where(Hazard.drill_id == drill.id)))
    return [*plans, *records, *hazards, *fire_plans, draft, drill, planned, *created]


def _survey(session, rng, estate_id, units, now, answers: int) -> list:
    today = now.date()
    survey = Survey(estate_id=estate_id, title=f"{today.year}年度业主满意度调查", respondents="owner",
                    method="问卷调查", starts_on=today - dt.timedelta(days=30), ends_on=today - dt.timedelta(days=2),
                    state="open")
    survey.questions = [SurveyQuestion(number=n, text=text) for n, text in enumerate(QUESTIONS, 1)]
    session.add(survey)
    session.flush()
    rows: list = [survey, *survey.questions]
    for k in range(answers):
        response = SurveyResponse(survey=survey, respondent_type="owner", unit_id=units[(k * 3) % len(units)],
                                  answered_on=survey.starts_on + dt.timedelta(days=k % 25))
        response.answers = [
            SurveyAnswer(question=q, score=rng.choices([c for c, _ in LEVELS], [w for _, w in LEVELS])[0])
            for q in survey.questions
        ]
        rows += [response, *response.answers]
    session.add_all(rows)
    session.flush()
    # closed after its sheets came in (on the connection: the demo fires no transitions)
    table = Survey.__table__
    session.connection().execute(update(table).where(table.c.id == survey.id).values(state="closed"))
    session.expire(survey, ["state"])
    return rows
