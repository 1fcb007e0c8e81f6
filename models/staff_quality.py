"""Service quality (服务质量): training, staff appraisal and satisfaction surveys.

A 满意度调查 is a questionnaire (one 5-level rating per question) put to 业主, 居民 or
员工 (《社区物业管理实施方案》8.2). It is drafted, opened (its questions then frozen), and closed;
answer sheets are recorded while it is open. Results are counted in SQL per question:
the 满意率 counts the answers rated 满意 or 非常满意 (4 or 5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import CheckConstraint, Date, Integer, String, Text, UniqueConstraint, case, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Admin, Choices, Entity, Menu, fk, zh
from models.company import Employee
from models.errors import Refused
from models.estate import Estate, Unit
from models.safety import not_negative
from models.workflow import Transition, Workflow

TRAINING_FORMS = Choices(
    ("lecture", "课堂讲授"), ("case", "案例分析"), ("site", "实地考察"), ("role_play", "角色扮演"),
    ("drill", "模拟演练"), ("online", "线上课程"), ("external", "外部培训"),
)
ASSESSMENTS = Choices(("exam", "笔试"), ("practice", "实操考核"), ("survey", "问卷反馈"), ("none", "不考核"))
GRADES = Choices(("excellent", "优秀"), ("good", "良好"), ("fair", "一般"), ("poor", "不合格"))
RESPONDENTS = Choices(("owner", "业主"), ("resident", "居民"), ("staff", "员工"))
SURVEY_STATES = Choices(("draft", "草稿"), ("open", "进行中"), ("closed", "已结束"))
SCORES = Choices(("5", "非常满意"), ("4", "满意"), ("3", "一般"), ("2", "不满意"), ("1", "非常不满意"))
#: a rating at or above this counts as satisfied
SATISFIED_SCORE = 4


def _score(value) -> str | None:
    return None if value is None or 0 <= value <= 100 else "考核分数须在 0 到 100 之间"


class Training(Entity):
    """培训: topic, form, participants (residents too: 《社区物业管理实施方案》5.3) and the assessment result."""

    __tablename__ = "training"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    topic: Mapped[str] = mapped_column(String(100), info=zh("培训主题"))
    form: Mapped[str] = mapped_column(String(20), default="lecture", info=zh("培训形式", choices=TRAINING_FORMS))
    held_on: Mapped[dt.date] = mapped_column(Date, info=zh("培训日期"))
    trainer: Mapped[str | None] = mapped_column(String(50), info=zh("培训讲师"))
    staff_count: Mapped[int] = mapped_column(Integer, default=0, info=zh("员工参训人数", check=not_negative))
    resident_count: Mapped[int] = mapped_column(Integer, default=0, info=zh("居民参训人数", check=not_negative))
    assessment: Mapped[str] = mapped_column(String(20), default="exam", info=zh("考核方式", choices=ASSESSMENTS))
    passed_count: Mapped[int | None] = mapped_column(Integer, info=zh("考核合格人数", check=not_negative))
    summary: Mapped[str | None] = mapped_column(Text, info=zh("培训内容与效果评估"))

    __table_args__ = (
        TRAINING_FORMS.constraint("form", "ck_training_form"),
        ASSESSMENTS.constraint("assessment", "ck_training_assessment"),
        CheckConstraint("staff_count >= 0 AND resident_count >= 0", name="ck_training_counts"),
        CheckConstraint("passed_count IS NULL OR passed_count <= staff_count + resident_count",
                        name="ck_training_passed"),
    )

    def __str__(self) -> str:
        return self.topic

    class Admin(Admin):
        label = "培训"
        menu = Menu.QUALITY
        icon = "fa-graduation-cap"
        list_columns = ("held_on", "topic", "form", "staff_count", "resident_count", "assessment", "passed_count")
        search_columns = ("estate", "topic", "form", "held_on")
        order_by = ("held_on", "desc")
        rules = (
            lambda v: [("passed_count", "考核合格人数不能超过参训人数")]
            if v.get("passed_count") is not None
            and v["passed_count"] > (v.get("staff_count") or 0) + (v.get("resident_count") or 0) else [],
        )


class StaffAppraisal(Entity):
    """员工考核: one employee, one period, a score, a grade and 奖惩."""

    __tablename__ = "staff_appraisal"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    employee_id: Mapped[int] = fk("employee.id")
    employee: Mapped[Employee] = relationship(info=zh("员工"))
    period: Mapped[str] = mapped_column(String(20), info=zh("考核期间", "如 2026年第三季度"))
    score: Mapped[int] = mapped_column(Integer, info=zh("考核分数", "0～100", check=_score))
    grade: Mapped[str] = mapped_column(String(20), info=zh("考核等级", choices=GRADES))
    reward: Mapped[str | None] = mapped_column(String(200), info=zh("奖惩"))
    appraiser: Mapped[str | None] = mapped_column(String(50), info=zh("考核人"))

    __table_args__ = (
        GRADES.constraint("grade", "ck_staff_appraisal_grade"),
        CheckConstraint("score >= 0 AND score <= 100", name="ck_staff_appraisal_score"),
        UniqueConstraint("employee_id", "period", name="uq_staff_appraisal_period",
                         info={"message": "该员工此期间已有考核记录"}),
    )

    def __str__(self) -> str:
        return f"{self.employee} {self.period}"

    class Admin(Admin):
        label = "员工考核"
        menu = Menu.QUALITY
        icon = "fa-trophy"
        list_columns = ("period", "employee", "score", "grade", "reward", "appraiser")
        search_columns = ("estate", "employee", "period", "grade")
        order_by = ("period", "desc")
        str_loads = ("employee",)


# -- satisfaction surveys --------------------------------------------------------------

def _has_questions(survey: "Survey", session: Session) -> str | None:
    count = session.scalar(select(func.count()).select_from(SurveyQuestion).where(SurveyQuestion.survey_id == survey.id))
    return None if count else "问卷还没有题目，不能发布"


SURVEY_FLOW = Workflow(
    states=SURVEY_STATES,
    transitions=(
        Transition("open", "发布调查", ("draft",), "open", guard=_has_questions, style="success"),
        Transition("close", "结束调查", ("open",), "closed", style="warning"),
    ),
    frozen=frozenset({"open", "closed"}),
)


class Survey(Entity):
    """满意度调查: a questionnaire for one kind of respondent."""

    __tablename__ = "survey"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    title: Mapped[str] = mapped_column(String(100), info=zh("调查名称"))
    respondents: Mapped[str] = mapped_column(String(20), default="owner", info=zh("调查对象", choices=RESPONDENTS))
    method: Mapped[str | None] = mapped_column(String(50), info=zh("调查方式", "如 问卷调查、上门走访、座谈会"))
    starts_on: Mapped[dt.date] = mapped_column(Date, info=zh("开始日期"))
    ends_on: Mapped[dt.date] = mapped_column(Date, info=zh("结束日期"))
    state: Mapped[str] = mapped_column(String(20), default="draft", info=zh("状态", choices=SURVEY_STATES))
    questions: Mapped[list[SurveyQuestion]] = relationship(
        back_populates="survey", cascade="all, delete-orphan", order_by="SurveyQuestion.number", info=zh("题目"))

    __table_args__ = (
        RESPONDENTS.constraint("respondents", "ck_survey_respondents"),
        SURVEY_STATES.constraint("state", "ck_survey_state"),
        CheckConstraint("ends_on >= starts_on", name="ck_survey_dates"),
    )

    def __str__(self) -> str:
        return self.title

    class Admin(Admin):
        label = "满意度调查"
        menu = Menu.QUALITY
        icon = "fa-smile-o"
        list_columns = ("title", "respondents", "starts_on", "ends_on", "state")
        search_columns = ("estate", "title", "respondents", "state", "starts_on")
        form_columns = ("estate", "title", "respondents", "method", "starts_on", "ends_on")
        order_by = ("starts_on", "desc")
        date_order = (("starts_on", "ends_on"),)
        workflow = SURVEY_FLOW
        details = ("questions",)


class SurveyQuestion(Entity):
    """One question of a survey, rated 非常满意 … 非常不满意."""

    __tablename__ = "survey_question"

    survey_id: Mapped[int] = fk("survey.id", ondelete="CASCADE")
    survey: Mapped[Survey] = relationship(back_populates="questions", info=zh("满意度调查"))
    number: Mapped[int] = mapped_column(Integer, info=zh("题号"))
    text: Mapped[str] = mapped_column(String(200), info=zh("题目", "如 您对小区保洁服务是否满意"))

    __table_args__ = (
        UniqueConstraint("survey_id", "number", name="uq_survey_question_number",
                         info={"message": "同一问卷的题号不能重复"}),
        CheckConstraint("number > 0", name="ck_survey_question_number"),
    )

    def __str__(self) -> str:
        return f"{self.number}. {self.text}"

    class Admin(Admin):
        label = "调查题目"
        menu = Menu.QUALITY
        icon = "fa-question-circle"
        list_columns = ("survey", "number", "text")
        search_columns = ("survey", "text")
        form_columns = ("survey", "number", "text")
        order_by = ("number", "asc")
        scope_path = "survey.estate_id"
        frozen_by = "survey"


class SurveyResponse(Entity):
    """答卷: one respondent's sheet; recorded while the survey is open."""

    __tablename__ = "survey_response"

    survey_id: Mapped[int] = fk("survey.id")
    survey: Mapped[Survey] = relationship(info=zh("满意度调查"))
    respondent_type: Mapped[str] = mapped_column(String(20), default="owner", info=zh("答卷人类型", choices=RESPONDENTS))
    unit_id: Mapped[int | None] = fk("unit.id", nullable=True)
    unit: Mapped[Unit | None] = relationship(info=zh("房屋", "匿名调查可不填"))
    answered_on: Mapped[dt.date] = mapped_column(Date, info=zh("答卷日期"))
    comment: Mapped[str | None] = mapped_column(String(500), info=zh("意见建议"))
    answers: Mapped[list[SurveyAnswer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", info=zh("答案"))

    __table_args__ = (RESPONDENTS.constraint("respondent_type", "ck_survey_response_type"),)

    def __str__(self) -> str:
        return f"答卷 {self.id or ''}（{self.answered_on}）"

    class Admin(Admin):
        label = "调查答卷"
        menu = Menu.QUALITY
        icon = "fa-file-text-o"
        list_columns = ("survey", "respondent_type", "unit", "answered_on", "comment")
        search_columns = ("survey", "respondent_type", "answered_on")
        form_columns = ("survey", "respondent_type", "unit", "answered_on", "comment")
        order_by = ("answered_on", "desc")
        scope_path = "survey.estate_id"
        # a closed survey's results stand; a draft one has no questions to answer yet
        frozen_by = "survey"
        changes_while = frozenset({"open"})
        details = ("answers",)


class SurveyAnswer(Entity):
    """The rating one answer sheet gives one question (5 = 非常满意 … 1 = 非常不满意)."""

    __tablename__ = "survey_answer"

    response_id: Mapped[int] = fk("survey_response.id", ondelete="CASCADE")
    response: Mapped[SurveyResponse] = relationship(back_populates="answers", info=zh("答卷"))
    question_id: Mapped[int] = fk("survey_question.id")
    question: Mapped[SurveyQuestion] = relationship(info=zh("题目"))
    score: Mapped[str] = mapped_column(String(1), info=zh("评价", choices=SCORES))

    __table_args__ = (
        UniqueConstraint("response_id", "question_id", name="uq_survey_answer_question",
                         info={"message": "同一答卷每道题只能回答一次"}),
        SCORES.constraint("score", "ck_survey_answer_score"),
    )

    def __str__(self) -> str:
        return SCORES.label(self.score)

    class Admin(Admin):
        label = "调查答案"
        menu = Menu.QUALITY
        icon = "fa-check"
        list_columns = ("response", "question", "score")
        search_columns = ("score",)
        form_columns = ("response", "question", "score")
        order_by = ("id", "asc")
        scope_path = "response.survey.estate_id"
        frozen_by = "response"
        fixed_links = ("question",)
        str_loads = ("question",)


@event.listens_for(SurveyAnswer, "before_insert")
@event.listens_for(SurveyAnswer, "before_update")
def _question_of_the_same_survey(_mapper, connection, answer: SurveyAnswer) -> None:
    response_id = answer.response.id if answer.response is not None else answer.response_id
    question_id = answer.question.id if answer.question is not None else answer.question_id
    responses, questions = SurveyResponse.__table__, SurveyQuestion.__table__
    same = connection.execute(
        select(func.count()).select_from(responses.join(questions, questions.c.survey_id == responses.c.survey_id))
        .where(responses.c.id == response_id, questions.c.id == question_id)
    ).scalar()
    if not same:
        raise Refused("该题目不属于这份答卷的问卷")


# -- results -----------------------------------------------------------------------------

@dataclass(frozen=True)
class QuestionResult:
    number: int
    text: str
    answers: int
    #: answers per level, "5" (非常满意) … "1" (非常不满意)
    levels: dict[str, int]
    score_total: int

    @property
    def satisfied(self) -> int:
        return sum(n for level, n in self.levels.items() if int(level) >= SATISFIED_SCORE)

    @property
    def satisfaction_rate(self) -> Fraction | None:
        return Fraction(self.satisfied, self.answers) if self.answers else None

    @property
    def average(self) -> Fraction | None:
        return Fraction(self.score_total, self.answers) if self.answers else None


def survey_results(session: Session, survey_id: int) -> list[QuestionResult]:
    """Per question: answers, answers per level and the score total, counted in SQL."""
    level = {code: func.coalesce(func.sum(case((SurveyAnswer.score == code, 1), else_=0)), 0).label(f"l{code}")
             for code in SCORES.codes}
    query = (
        select(SurveyQuestion.number, SurveyQuestion.text, func.count(SurveyAnswer.id).label("answers"), *level.values())
        .select_from(SurveyQuestion)
        .outerjoin(SurveyAnswer, SurveyAnswer.question_id == SurveyQuestion.id)
        .where(SurveyQuestion.survey_id == survey_id)
        .group_by(SurveyQuestion.id, SurveyQuestion.number, SurveyQuestion.text)
        .order_by(SurveyQuestion.number)
    )
    results = []
    for row in session.execute(query):
        levels = {code: int(getattr(row, f"l{code}")) for code in SCORES.codes}
        results.append(QuestionResult(row.number, row.text, row.answers, levels,
                                      sum(int(code) * n for code, n in levels.items())))
    return results


def respondent_count(session: Session, survey_id: int) -> int:
    return session.scalar(select(func.count()).select_from(SurveyResponse).where(SurveyResponse.survey_id == survey_id))
