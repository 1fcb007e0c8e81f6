"""Command-line tasks: `flask deploy`, `flask sync-roles`, `flask demo`, `flask backup`/`restore`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    @app.cli.command("sync-roles")
    @with_appcontext
    def sync_roles() -> None:
        """Create permissions and make every role match the declared matrix (idempotent)."""
        from app import roles

        counts = roles.sync(current_app.appbuilder)
        for role, n in counts.items():
            click.echo(f"{role}: {n} 项权限")

    @app.cli.command("deploy")
    @with_appcontext
    def deploy() -> None:
        """Once per release, before the workers start: migrate the schema, sync the roles."""
        from flask_migrate import upgrade

        from app import roles

        upgrade()
        roles.sync(current_app.appbuilder)
        click.echo("数据库已迁移到最新版本，角色权限已同步")

    @app.cli.command("demo")
    @click.option("--units", default=1200, show_default=True, help="大小区的房屋套数（规模参数）")
    @click.option("--estates", default=3, show_default=True, help="小区数量（至少 3）")
    @click.option("--total-units", type=int, default=None, help="全部小区的房屋总套数（可选）")
    @click.option("--seed", default=2026, show_default=True)
    @with_appcontext
    def demo(units: int, estates: int, total_units: int | None, seed: int) -> None:
        """Load the demo data set once (a second run changes nothing)."""
        from app import demo as demo_data

        created = demo_data.load(units=units, estates=estates, seed=seed, total_units=total_units)
        click.echo("演示数据已存在，未做改动" if not created else f"已生成演示数据：{created}")
