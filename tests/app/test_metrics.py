"""/metrics: latency per route template, method and status; model info without a bundle."""

from tests.app.conftest import make_client


def test_metrics_latency_histogram_per_route_method_and_status(client):
    client.get("/similar/nope")
    text = client.get("/metrics").text
    assert (
        'reco_request_seconds_count{method="GET",route="/similar/{item_id}",status="404"} 1.0'
        in text
    )


def test_metrics_without_bundle_show_no_model_and_no_offline_metrics(tmp_path):
    with make_client(tmp_path / "empty", tmp_path) as client:
        text = client.get("/metrics").text
    assert 'reco_model_info{kind="",name="none",version=""} 1.0' in text
    assert "reco_model_offline_metric{" not in text


def test_metrics_show_models_in_memory_and_cache_bytes(client):
    client.get("/recommend/0")
    text = client.get("/metrics").text
    assert "reco_loaded_models 1.0" in text
    cached = next(
        line for line in text.splitlines() if line.startswith("reco_response_cache_bytes")
    )
    assert float(cached.split()[-1]) == client.app.state.responses.bytes > 0
