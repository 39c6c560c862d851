import json

import pytest

from training.cli import main

SMALL = ["--synthetic-users", "60", "--synthetic-items", "90", "--synthetic-ratings", "2000"]


@pytest.mark.parametrize(("protocol", "metric"), [("rank", "ndcg@10"), ("loo", "hr@10")])
def test_evaluate_writes_the_protocol_json(tmp_path, protocol, metric, capsys):
    out = tmp_path / "result.json"
    code = main(
        [
            "evaluate",
            "--dataset",
            "synthetic",
            *SMALL,
            "--protocol",
            protocol,
            "--models",
            "popularity",
            "--json",
            str(out),
            "--report",
            str(tmp_path / "r.html"),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert {k: result[k] for k in ("dataset", "protocol", "k", "seed")} == {
        "dataset": "synthetic",
        "protocol": protocol,
        "k": 10,
        "seed": 42,
    }
    (row,) = result["results"]
    assert row["model"] == "popularity" and set(row) == {
        "model",
        "params",
        "fit_seconds",
        "recommend_seconds",
        "metrics",
    }
    assert 0 < row["metrics"][metric] <= 1
    assert "popularity" in capsys.readouterr().out and (tmp_path / "r.html").is_file()


def test_evaluate_unknown_model_is_a_clear_error(capsys):
    assert main(["evaluate", "--models", "bprr", *SMALL]) == 2
    assert "unknown model 'bprr'" in capsys.readouterr().err


def test_train_popularity_on_a_csv_end_to_end(tmp_path, capsys, monkeypatch):
    csv = tmp_path / "events.csv"
    csv.write_text(
        "user,item\n" + "".join(f"u{u},i{(u * 7 + n) % 30}\n" for u in range(20) for n in range(6))
    )
    bundle = tmp_path / "bundle-1"
    assert (
        main(["train", "--model", "popularity", "--dataset", str(csv), "--out", str(bundle)]) == 0
    )
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["model"]["name"] == "popularity" and "ndcg@10" in manifest["metrics"]
    assert (bundle / "report.html").is_file()
