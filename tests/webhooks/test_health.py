import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bot.core.config import Settings
from bot.core.db import head_revision
from bot.runtime import Runtime
from tests.support.dashboard import admin, csrf_from, login, with_passwords
from tests.support.factories import World, make_world
from webhooks import create_app


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_when_current(client: FlaskClient, runtime: Runtime) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["migrations"] == head_revision(runtime.engine)


def test_readyz_when_database_is_down(runtime: Runtime) -> None:
    from bot.core.db import make_engine

    down = Runtime(runtime.settings, make_engine("postgresql+psycopg://x@127.0.0.1:9/none"),
                   runtime.sessions, {})
    response = create_app(down).test_client().get("/readyz")
    assert response.status_code == 503 and response.json == {"status": "not ready"}
    # Nothing of the driver's error reaches the caller: no host, no port, no driver name.
    body = response.get_data(as_text=True)
    for secret in ("127.0.0.1", "9", "psycopg", "connection", "refused"):
        assert secret not in body


def test_readyz_when_migrations_are_behind(runtime: Runtime, engine: Engine, session: Session,
                                           world: World) -> None:
    client = create_app(runtime).test_client()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    try:
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json == {"status": "not ready"}
        # A logged-in admin sees why.
        with_passwords(session, world)
        admin(session, world)
        login(client, "admin@odense.example")
        response = client.get("/readyz")
        assert response.status_code == 503 and "db upgrade" in response.json["migrations"]
        # A caseworker does not.
        other = create_app(runtime).test_client()
        login(other, "cw@odense.example")
        assert other.get("/readyz").json == {"status": "not ready"}
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"),
                         {"v": head_revision(engine)})


def test_unknown_path_is_json_404(client: FlaskClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404 and response.json["error"] == "Not Found"


def test_factory_without_runtime_reads_env_and_logs_json(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What gunicorn does: `webhooks:create_app()` with only the environment to go on."""
    import logging

    import structlog

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("SMTP_HOST", "localhost")  # a channel to deliver alerts through
    app = create_app()
    assert app.test_client().get("/readyz").status_code == 200
    formatters = [h.formatter for h in logging.getLogger().handlers]
    assert any(isinstance(f, structlog.stdlib.ProcessorFormatter) for f in formatters)


def test_readyz_without_a_delivery_channel_tells_only_an_admin_why(
        runtime: Runtime, session: Session) -> None:
    """Refuse to run blind: no SMS, Telegram or e-mail outside demo mode is "not ready"; the
    missing variables are named to a logged-in admin only; the dashboard shows admins a
    banner."""
    blind = Runtime(Settings(database_url=runtime.settings.database_url,
                             secret_key="test-secret-key-0123456789"),
                    runtime.engine, runtime.sessions, {})
    client = create_app(blind).test_client()
    anonymous = client.get("/readyz")
    assert anonymous.status_code == 503 and anonymous.json == {"status": "not ready"}
    w = with_passwords(session, make_world(session))
    admin(session, w)
    assert login(client, "cw@odense.example").status_code == 302
    assert client.get("/readyz").json == {"status": "not ready"}  # not an admin
    assert "delivery-problem" not in client.get("/dashboard/").get_data(as_text=True)
    client.post("/dashboard/logout", data={
        "csrf_token": csrf_from(client.get("/dashboard/").get_data(as_text=True))})
    assert login(client, "admin@odense.example").status_code == 302
    detail = client.get("/readyz")
    assert detail.status_code == 503 and detail.json["database"] == "ok"
    assert "TWILIO_ACCOUNT_SID" in detail.json["channels"]
    assert "SMTP_HOST" in detail.json["channels"]
    page = client.get("/dashboard/").get_data(as_text=True)
    assert 'id="delivery-problem"' in page and "Twilio" in page


def test_readyz_ok_with_one_channel(runtime: Runtime) -> None:
    from bot.core.config import SmtpSettings

    one = Runtime(Settings(database_url=runtime.settings.database_url,
                           smtp=SmtpSettings(host="localhost")),
                  runtime.engine, runtime.sessions, {})
    response = create_app(one).test_client().get("/readyz")
    assert response.status_code == 200 and response.json["channels"] == "ok"
