"""create_app: reads like a table of contents. Nothing runs at import time."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

from trading.config import Config, database_url_from_env, normalise_database_url
from trading.core.clock import Clock, SystemClock

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | type | None = None, *, clock: Clock | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    _load_config(app, config)
    app.extensions["clock"] = clock or SystemClock()
    _init_extensions(app)
    _register_web_glue(app)
    _register_blueprints(app)
    _register_cli(app)
    _wire_hooks()
    return app


def _load_config(app: Flask, config) -> None:
    app.config.from_object(Config)
    if isinstance(config, type):
        app.config.from_object(config)
    elif isinstance(config, dict):
        app.config.from_mapping(config)
    app.config.from_prefixed_env("TRADING")
    url = database_url_from_env() if not app.config.get("TESTING") or os.environ.get("DATABASE_URL") else None
    if url and not (isinstance(config, dict) and "SQLALCHEMY_DATABASE_URI" in config):
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'trading.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)


def _instance_secret(app: Flask) -> str:
    """A random key kept in the instance folder, made on first start (never committed)."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _init_extensions(app: Flask) -> None:
    from trading.core import sqlite_pragmas
    from trading.extensions import babel, csrf, db, login_manager, migrate

    sqlite_pragmas.install()
    db.init_app(app)
    from trading.core import broker
    broker.init_app(app)  # live events: wakes SSE streams after commit (TRADING_BROKER)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    from trading.core.i18n import select_locale
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(ROOT / "trading" / "translations"))
    import trading.models  # noqa: F401  (every model registered on the metadata)
    import trading.procedures.registry  # noqa: F401  (every procedure's stage machine registered)


def _wire_hooks() -> None:
    """Hooks through which a higher layer reads a lower one's results without reaching into it: the
    open-data feed's sale outcome comes from the auction package (lots sold elsewhere: their awards)."""
    from trading.opendata import sales
    from trading.procedures.auction.queries import sale_of_lot

    def auction_sale(session, trade):
        got = sale_of_lot(session, trade.lot_id)
        if got is None:
            return sales.award_outcome(session, trade)
        if not got.pop("decided"):
            return None
        return sales.SaleOutcome(**got)

    sales.set_auction_outcome_provider(auction_sale)


def _register_web_glue(app: Flask) -> None:
    from trading.accounts import web_auth
    from trading.core import web
    from trading.reference import web as reference_web

    web.init_app(app)
    web_auth.init_app(app)
    reference_web.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from trading.accounts.admin_views import bp as admin_bp
    from trading.accounts.key_views import bp as keys_bp
    from trading.accounts.views import bp as auth_bp
    from trading.api import bp as api_bp
    from trading.evaluation.experts.views import bp as experts_bp
    from trading.evaluation.scoring.views import bp as evaluation_bp
    from trading.opendata.views import bp as opendata_bp
    from trading.portal.views import bp as portal_bp
    from trading.procedures.auction.views import bp as auctions_bp
    from trading.procedures.common.awards.views import bp as awards_bp
    from trading.procedures.common.deposits.views import bp as deposits_bp
    from trading.procedures.common.opening.views import bp as opening_bp
    from trading.procedures.common.participation.views import bp as offers_bp
    from trading.procedures.common.stage_views import bp as stages_bp
    from trading.procedures.common.views import bp as notices_bp
    from trading.procedures.land_tender.views import bp as land_tender_bp
    from trading.procedures.negotiation.views import bp as negotiation_bp
    from trading.projects.views import bp as projects_bp
    from trading.stats.views import bp as stats_bp
    from trading.supervision.complaints.views import bp as complaints_bp
    from trading.supervision.timelimits.views import bp as timelimits_bp
    from trading.supervision.views import bp as supervision_bp

    app.register_blueprint(portal_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(projects_bp, url_prefix="/projects")
    app.register_blueprint(notices_bp, url_prefix="/notices")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(supervision_bp, url_prefix="/supervise")
    app.register_blueprint(timelimits_bp, url_prefix="/time-limits")
    app.register_blueprint(complaints_bp, url_prefix="/complaints")
    app.register_blueprint(keys_bp, url_prefix="/keys")
    app.register_blueprint(offers_bp, url_prefix="/offers")
    app.register_blueprint(opening_bp, url_prefix="/opening")
    app.register_blueprint(deposits_bp, url_prefix="/deposits")
    app.register_blueprint(stages_bp, url_prefix="/stages")
    app.register_blueprint(awards_bp, url_prefix="/awards")
    app.register_blueprint(auctions_bp, url_prefix="/auctions")
    app.register_blueprint(land_tender_bp, url_prefix="/land-tender")
    app.register_blueprint(evaluation_bp, url_prefix="/evaluation")
    app.register_blueprint(experts_bp, url_prefix="/experts")
    app.register_blueprint(negotiation_bp, url_prefix="/negotiation")
    app.register_blueprint(opendata_bp, url_prefix="/opendata")
    app.register_blueprint(stats_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")


def _register_cli(app: Flask) -> None:
    from trading.audit.cli import audit_cli
    from trading.demo import demo_command
    from trading.opendata.cli import opendata_cli
    from trading.procedures.auction.cli import auction_cli
    from trading.procedures.common.awards.cli import awards_cli
    from trading.procedures.common.participation.cli import offers_cli
    from trading.reference.cli import calendar_cli
    from trading.stats.cli import stats_cli

    app.cli.add_command(audit_cli)
    app.cli.add_command(calendar_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(offers_cli)
    app.cli.add_command(awards_cli)
    app.cli.add_command(opendata_cli)
    app.cli.add_command(auction_cli)
    app.cli.add_command(stats_cli)


__all__ = ["create_app", "SystemClock"]
