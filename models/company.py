"""Property-service companies (物业服务企业), their contracts, departments and staff."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Admin, Choices, Entity, Menu, fk, unique_where, zh
from models.estate import Estate
from models.validators import check_id_card, check_mobile, check_uscc

QUALIFICATIONS = Choices(("grade1", "一级"), ("grade2", "二级"), ("grade3", "三级"), ("none", "无资质等级"))
CREDIT_GRADES = Choices(("AAA", "AAA"), ("AA", "AA"), ("A", "A"), ("B", "B"), ("C", "C"))
BILLING_MODES = Choices(("lump_sum", "包干制"), ("commission", "酬金制"))
SERVICE_LEVELS = Choices(
    ("level1", "一级"), ("level2", "二级"), ("level3", "三级"), ("level4", "四级"), ("level5", "五级"),
)
GENDERS = Choices(("male", "男"), ("female", "女"))


class PropertyCompany(Entity):
    __tablename__ = "property_company"

    name: Mapped[str] = mapped_column(String(100), unique=True, info=zh("企业名称"))
    uscc: Mapped[str] = mapped_column(
        String(18), unique=True, info=zh("统一社会信用代码", "18 位，末位为校验码", check=check_uscc)
    )
    qualification: Mapped[str | None] = mapped_column(
        String(10), info=zh("资质等级", choices=QUALIFICATIONS)
    )
    credit_grade: Mapped[str | None] = mapped_column(
        String(5), info=zh("信用等级", choices=CREDIT_GRADES)
    )
    contact: Mapped[str | None] = mapped_column(String(50), info=zh("联系人"))
    phone: Mapped[str | None] = mapped_column(String(20), info=zh("联系电话"))
    address: Mapped[str | None] = mapped_column(String(200), info=zh("注册地址"))
    estates: Mapped[list[Estate]] = relationship(back_populates="company", passive_deletes="all", info=zh("服务小区"))

    __table_args__ = (
        QUALIFICATIONS.constraint("qualification", "ck_company_qualification"),
        CREDIT_GRADES.constraint("credit_grade", "ck_company_credit_grade"),
    )

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        scope_path = "estates.id"
        label = "物业服务企业"
        menu = Menu.PEOPLE
        icon = "fa-briefcase"
        list_columns = ("name", "uscc", "qualification", "credit_grade", "contact", "phone")
        search_columns = ("name", "uscc", "qualification", "credit_grade")
        order_by = ("name", "asc")


class ServiceContract(Entity):
    __tablename__ = "service_contract"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("小区"))
    company_id: Mapped[int] = fk("property_company.id")
    company: Mapped[PropertyCompany] = relationship(info=zh("物业服务企业"))
    contract_no: Mapped[str] = mapped_column(String(40), unique=True, info=zh("合同编号"))
    starts_on: Mapped[dt.date] = mapped_column(Date, info=zh("起始日期"))
    ends_on: Mapped[dt.date] = mapped_column(Date, info=zh("终止日期"))
    billing_mode: Mapped[str] = mapped_column(
        String(20), default="lump_sum", info=zh("计费模式", choices=BILLING_MODES)
    )
    service_level: Mapped[str | None] = mapped_column(
        String(10), info=zh("服务等级", choices=SERVICE_LEVELS)
    )
    signed_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("签订日期"))
    # the 业主大会 decision the contract comes from (民法典第二百七十八条: 选聘物业 is the owners')
    decided_by_id: Mapped[int | None] = fk("meeting_matter.id", nullable=True)
    decided_by: Mapped[Any] = relationship("MeetingMatter", info=zh("业主大会决定", "由业主大会表决通过的选聘事项生成"))

    __table_args__ = (
        BILLING_MODES.constraint("billing_mode", "ck_contract_billing_mode"),
        SERVICE_LEVELS.constraint("service_level", "ck_contract_service_level"),
    )

    def __str__(self) -> str:
        return self.contract_no

    class Admin(Admin):
        label = "物业服务合同"
        menu = Menu.PEOPLE
        icon = "fa-file-text-o"
        list_columns = ("contract_no", "estate", "company", "starts_on", "ends_on", "billing_mode", "service_level")
        search_columns = ("contract_no", "estate", "company", "billing_mode", "ends_on")
        form_columns = ("contract_no", "estate", "company", "starts_on", "ends_on", "billing_mode", "service_level",
                        "signed_on")
        show_columns = (*form_columns, "decided_by")
        order_by = ("ends_on", "asc")
        date_order = (("starts_on", "ends_on"),)


class Department(Entity):
    __tablename__ = "department"

    company_id: Mapped[int] = fk("property_company.id")
    company: Mapped[PropertyCompany] = relationship(info=zh("所属企业"))
    estate_id: Mapped[int | None] = fk("estate.id", nullable=True)
    estate: Mapped[Estate | None] = relationship(info=zh("服务小区", "项目部所在小区；总部部门留空"))
    name: Mapped[str] = mapped_column(String(50), info=zh("部门名称"))
    head: Mapped[str | None] = mapped_column(String(50), info=zh("负责人"))
    phone: Mapped[str | None] = mapped_column(String(20), info=zh("联系电话"))

    __table_args__ = (
        # a 总部 department has no estate, and an empty column makes no two keys equal: its names
        # are kept unique by a key of their own
        unique_where("uq_department_name", "company_id", "estate_id", "name", present=("estate_id",),
                     message="该企业在此小区已有同名部门"),
        unique_where("uq_department_head_office_name", "company_id", "name", empty=("estate_id",),
                     message="该企业已有同名的总部部门"),
    )

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        label = "部门"
        menu = Menu.PEOPLE
        icon = "fa-sitemap"
        list_columns = ("name", "company", "estate", "head", "phone")
        search_columns = ("name", "company", "estate")
        order_by = ("name", "asc")


class Employee(Entity):
    __tablename__ = "employee"

    estate_id: Mapped[int] = fk("estate.id")
    estate: Mapped[Estate] = relationship(info=zh("服务小区"))
    department_id: Mapped[int | None] = fk("department.id", nullable=True)
    department: Mapped[Department | None] = relationship(info=zh("部门"))
    name: Mapped[str] = mapped_column(String(50), info=zh("姓名"))
    gender: Mapped[str | None] = mapped_column(String(10), info=zh("性别", choices=GENDERS))
    id_number: Mapped[str | None] = mapped_column(
        String(18), info=zh("身份证号", check=check_id_card, masked="id_card")
    )
    mobile: Mapped[str | None] = mapped_column(
        String(11), info=zh("手机号", check=check_mobile, masked="mobile")
    )
    position: Mapped[str] = mapped_column(String(50), info=zh("岗位", "如 项目经理、秩序维护员、电工"))
    certificate: Mapped[str | None] = mapped_column(String(100), info=zh("持有证书", "如 电工证、电梯安全管理员证"))
    certified: Mapped[bool] = mapped_column(Boolean, default=False, info=zh("持证上岗"))
    hired_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("入职日期"))
    left_on: Mapped[dt.date | None] = mapped_column(Date, info=zh("离职日期"))

    __table_args__ = (GENDERS.constraint("gender", "ck_employee_gender"),)

    def __str__(self) -> str:
        return self.name

    class Admin(Admin):
        label = "员工"
        menu = Menu.PEOPLE
        icon = "fa-id-badge"
        list_columns = ("name", "estate", "department", "position", "mobile", "certified", "hired_on")
        search_columns = ("name", "estate", "department", "position", "certified", "hired_on")
        order_by = ("name", "asc")
        date_order = (("hired_on", "left_on"),)
