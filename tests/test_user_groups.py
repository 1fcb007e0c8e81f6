"""A role given through a 用户组 counts wherever a role held directly does.

FAB grants a group member the permissions of the group's roles; the estate scope, the menus,
the choices offered, who is told of scheduled work and the role page read the same roles.
"""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app import roles
from app.extensions import db
from models.access import UserScope, people_of
from models.base import ALL_ESTATES
from models.estate import Estate
from tests.pages import english_words, visible_text
from tests.support import client_of, in_db, record_count, text_of
from tests.test_role_matrix import navbar_links

LARGE_ESTATE = 1


def member_of_group(app, username: str, role: str, *, estate_id: int | None = None) -> None:
    """An account with no role of its own, in a 用户组 that holds ``role``."""

    def create() -> None:
        sm = app.appbuilder.sm
        hashed = generate_password_hash(app.config["DEMO_PASSWORD"], method="pbkdf2:sha256:1000")
        user = sm.add_user(username, "组员", "孙", f"{username}@example.com", [], hashed_password=hashed)
        assert user, f"{username} could not be created"
        group = sm.add_group(f"{role}组", f"{role}组", "", roles=[sm.find_role(role)], users=[user])
        assert group is not None
        if estate_id is not None:
            db.session.add(UserScope(user_id=user.id, estate_id=estate_id))
        db.session.commit()

    in_db(app, create)


def test_a_role_held_through_a_group_opens_the_same_menus_as_held_directly(app):
    member_of_group(app, "group_manager", roles.MANAGER, estate_id=LARGE_ESTATE)
    # in the same order too: the menus a role works in lead (app.roles.NAVIGATION)
    through_group = list(navbar_links(text_of(client_of(app, "group_manager").get("/"))).items())
    assert through_group == list(navbar_links(text_of(client_of(app, "manager_a").get("/"))).items())


def test_an_administrator_through_a_group_reads_every_estate(app):
    member_of_group(app, "group_admin", roles.ADMIN)
    estates = in_db(app, lambda: len(db.session.execute(select(Estate.id), execution_options={
        ALL_ESTATES: True}).all()))
    page = text_of(client_of(app, "group_admin").get("/estate/list/"))
    assert estates == 3 and record_count(page) == 3


def test_the_choices_of_a_role_are_offered_to_the_members_of_its_group(app):
    import re

    member_of_group(app, "group_committee", roles.COMMITTEE, estate_id=LARGE_ESTATE)
    page = text_of(client_of(app, "group_committee").get("/fund_entry/add"))
    select_html = re.search(r'<select[^>]*id="kind"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert set(re.findall(r">([^<]+)</option>", select_html)) - {"（未填写）"} == {"退还"}


def test_a_scheduled_bill_run_is_told_to_a_manager_holding_the_role_through_a_group(app):
    member_of_group(app, "group_manager", roles.MANAGER, estate_id=LARGE_ESTATE)

    def audience() -> set[str]:
        sm = app.appbuilder.sm
        ids = people_of(db.session, LARGE_ESTATE, {roles.MANAGER})
        return {sm.get_user_by_id(user_id).username for user_id in ids}

    assert {"manager_a", "group_manager"} <= in_db(app, audience)


def test_the_daily_reminder_goes_to_members_holding_a_role_through_a_group(app):
    from app.reminders import people_to_remind

    member_of_group(app, "group_staff", roles.STAFF, estate_id=LARGE_ESTATE)
    reminded = in_db(app, lambda: {user.username for user in people_to_remind(db.session)})
    assert "group_staff" in reminded and "admin" not in reminded


def test_the_role_page_names_the_members_of_its_groups(app):
    member_of_group(app, "group_official", roles.OFFICIAL)
    role_id = in_db(app, lambda: app.appbuilder.sm.find_role(roles.OFFICIAL).id)
    page = text_of(client_of(app, "admin").get(f"/roles/show/{role_id}"))
    assert "孙组员" in page


def test_the_group_pages_read_in_chinese(app):
    member_of_group(app, "group_staff", roles.STAFF)
    group_id = in_db(app, lambda: app.appbuilder.sm.find_group(f"{roles.STAFF}组").id)
    client = client_of(app, "admin")
    offenders = {}
    for url in ("/groups/list/", "/groups/add", f"/groups/show/{group_id}", f"/groups/edit/{group_id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        words = english_words(response.get_data(as_text=True), {"group_staff", "example", "com"})
        if words:
            offenders[url] = sorted(words)
    assert offenders == {}
    members = visible_text(client.get(f"/groups/show/{group_id}").get_data(as_text=True))
    assert "孙组员" in members and "物业员工" in members and "[" not in members
