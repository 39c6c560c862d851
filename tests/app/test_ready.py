"""Readiness when the store stops answering: /ready turns 503, /health stays 200."""

from sqlalchemy import create_engine

from app.store.session import make_sessionmaker


def test_ready_store_unreachable_is_503_envelope(client, tmp_path):
    assert client.get("/ready").status_code == 200
    # a real engine on a SQLite file whose folder does not exist: every connect fails
    unreachable = create_engine(f"sqlite:///{tmp_path / 'gone' / 'store.db'}")
    client.app.state.sessionmaker = make_sessionmaker(unreachable)
    response = client.get("/ready")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"]["code"] == "unavailable" and "store" in body["error"]["message"]
    assert client.get("/health").json() == {"status": "ok"}
