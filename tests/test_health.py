from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from bot.db import head_revision
from bot.runtime import Runtime
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
    from bot.db import make_engine

    down = Runtime(runtime.settings, make_engine("postgresql+psycopg://x@127.0.0.1:9/none"),
                   runtime.sessions, {})
    response = create_app(down).test_client().get("/readyz")
    assert response.status_code == 503 and "cannot reach" in response.json["database"]


def test_readyz_when_migrations_are_behind(runtime: Runtime, engine: Engine) -> None:
    client = create_app(runtime).test_client()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    try:
        response = client.get("/readyz")
        assert response.status_code == 503 and "db upgrade" in response.json["migrations"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"),
                         {"v": head_revision(engine)})


def test_unknown_path_is_json_404(client: FlaskClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404 and response.json["error"] == "Not Found"
