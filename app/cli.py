"""Command-line tasks: `flask deploy`, `flask sync-roles`, `flask demo`, `flask backup`/`restore`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


@contextmanager
def _refusals() -> Iterator[None]:
    """A refusal ends the command with its Chinese message, not a traceback."""
    from models.errors import Refused

    try:
        yield
    except Refused as refused:
        raise click.ClickException(str(refused)) from refused


def _echo_balances(balances: dict) -> None:
    """Per estate, the ledger balances (compare them after a restore)."""
    for estate_id, values in balances.items():
        click.echo(f"小区 {estate_id}：" + "，".join(f"{name} {value}" for name, value in values.items()))


def register(app: Flask) -> None:
    @app.cli.command("sync-roles")
    @with_appcontext
    def sync_roles() -> None:
        """Create permissions and make every role match the declared matrix (idempotent)."""
        from app import roles

        counts = roles.sync(current_app.appbuilder)
        for role, n in counts.items():
            click.echo(f"{role}: {n} 项权限")

    @app.cli.command("worker")
    @click.option("--workers", default=1, show_default=True,
                  help="同时运行的任务数（线程）；更多并发请在本机或其他机器上多启动几个 worker 进程")
    @with_appcontext
    def worker(workers: int) -> None:
        """Run background jobs and the minute schedule (make worker; docs/jobs.md)."""
        from app import jobs

        click.echo(f"后台任务进程已启动（队列：{type(jobs.queue.storage).__name__}），Ctrl+C 停止")
        jobs.consume(current_app._get_current_object(), workers)

    @app.cli.command("deploy")
    @with_appcontext
    def deploy() -> None:
        """Once per release, before the workers start: migrate the schema, sync the roles."""
        from flask_migrate import upgrade

        from app import roles

        upgrade()
        roles.sync(current_app.appbuilder)
        click.echo("数据库已迁移到最新版本，角色权限已同步")

    @app.cli.command("backup")
    @click.argument("target", required=False, type=click.Path(dir_okay=False, path_type=Path))
    @with_appcontext
    def backup_command(target: Path | None) -> None:
        """Dump the database to TARGET (default: instance/backups/<库名>-<时间>)."""
        from app import backup
        from app.extensions import db

        url = db.engine.url
        with _refusals():
            target = backup.backup(url, target or backup.default_target(url, Path(current_app.instance_path) / "backups"))
        click.echo(f"已备份到 {target}")
        _echo_balances(backup.balances(db.session))

    @app.cli.command("restore")
    @click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="不再确认（脚本中使用）")
    @with_appcontext
    def restore_command(source: Path, yes: bool) -> None:
        """Replace the whole database by the dump SOURCE (stop the app servers first)."""
        from app import backup
        from app.extensions import db

        if not yes:
            click.confirm(f"将用 {source} 覆盖当前数据库的全部数据，确定吗？", abort=True)
        db.session.remove()
        db.engine.dispose()
        with _refusals():
            backup.restore(db.engine.url, source)
        click.echo(f"已从 {source} 恢复")
        _echo_balances(backup.balances(db.session))

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
