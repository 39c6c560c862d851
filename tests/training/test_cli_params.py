"""Model construction from the command line: unknown hyperparameters are errors that name the
valid ones; with several models a name applies to the models that have it; evaluate applies
the data-preparation flags."""

import logging

import pytest

import training.protocols
from training.cli import main

SMALL = ["--synthetic-users", "60", "--synthetic-items", "90", "--synthetic-ratings", "2000"]


def test_train_unknown_param_is_an_error_naming_the_valid_ones(capsys):
    assert main(["train", "--model", "als", "--param", "nosuch=1", *SMALL]) != 0
    err = capsys.readouterr().err
    assert "unknown parameter 'nosuch'" in err and "alpha" in err and "factors" in err
    assert "Traceback" not in err


def test_train_shortcut_flag_the_model_lacks_is_an_error(capsys):
    assert main(["train", "--model", "als", "--epochs", "3", *SMALL]) != 0
    assert "unknown parameter 'epochs'" in capsys.readouterr().err


def test_train_lr_is_not_silently_dropped(capsys):
    assert main(["train", "--model", "imf", "--param", "lr=0.1", *SMALL]) != 0
    assert "learning_rate" in capsys.readouterr().err


@pytest.fixture
def captured(monkeypatch) -> list:
    """Replaces the protocol run: records (built model, data) instead of fitting."""
    calls = []

    def fake_run(protocol, make_model, data, **kwargs):
        model = make_model()
        calls.append((model, data))
        return {"model": model.name, "params": {}, "fit_seconds": 0.0,
                "recommend_seconds": 0.0, "metrics": {"ndcg@10": 0.5}}  # fmt: skip

    monkeypatch.setattr(training.protocols, "run_protocol", fake_run)
    monkeypatch.setattr("training.report.write_evaluation_report", lambda *a, **k: None)
    return calls


def test_evaluate_param_of_no_chosen_model_is_an_error(captured, capsys):
    argv = ["evaluate", "--models", "popularity,als", "--param", "nosuch=1", *SMALL]
    assert main(argv) != 0 and not captured
    err = capsys.readouterr().err
    assert "unknown parameter 'nosuch' for popularity, als" in err and "als: alpha" in err


def test_evaluate_param_of_some_models_applies_to_those_and_is_logged(captured, caplog):
    argv = ["evaluate", "--models", "popularity,als,ease", "--param", "reg=7",
            "--factors", "8", "--seed", "3", *SMALL]  # fmt: skip
    with caplog.at_level(logging.INFO):
        assert main(argv) == 0
    models = {model.name: model for model, _ in captured}
    assert models["als"].config.reg == 7 and models["als"].config.factors == 8
    assert all(m.config.seed == 3 for m in models.values())
    assert "parameter reg applies to als; popularity, ease has no such parameter" in caplog.text


def test_evaluate_applies_the_data_preparation_flags(captured):
    argv = ["evaluate", "--models", "popularity", "--rating-threshold", "4",
            "--min-user-interactions", "12", "--min-item-interactions", "3", *SMALL]  # fmt: skip
    assert main(argv) == 0
    ((_, data),) = captured
    frame = data.frame
    assert len(frame) and frame["rating"].min() >= 4
    assert frame["user"].value_counts().min() >= 12
    assert frame["item"].value_counts().min() >= 3
