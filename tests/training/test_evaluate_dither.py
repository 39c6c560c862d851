"""`reco evaluate --param dither=X` ranks with the server's dither and reports what it costs."""

from training.cli import main

SMALL = ["--synthetic-users", "60", "--synthetic-items", "90", "--synthetic-ratings", "2000"]


def _ndcg(capsys, tmp_path, *extra: str) -> float:
    """ndcg@10 from the table `reco evaluate` prints for als on the small synthetic data."""
    args = ["evaluate", "--models", "als", *SMALL, "--report", str(tmp_path / "r.html")]
    assert main([*args, *extra]) == 0
    header, row = capsys.readouterr().out.splitlines()[:2]
    return float(row.split()[header.split().index("ndcg@10")])


def test_evaluate_dither_reports_a_lower_ndcg(capsys, tmp_path):
    plain = _ndcg(capsys, tmp_path)
    assert _ndcg(capsys, tmp_path, "--param", "dither=1") == plain  # 1 is no noise
    assert _ndcg(capsys, tmp_path, "--param", "dither=3") < plain
    assert _ndcg(capsys, tmp_path, "--param", "dither=3") == _ndcg(
        capsys, tmp_path, "--param", "dither=3"
    )  # seeded: the same figure every run


def test_evaluate_dither_is_for_the_rank_protocol_only(capsys):
    assert main(["evaluate", "--models", "als", "--protocol", "loo", "--param", "dither=2",
                 *SMALL]) != 0  # fmt: skip
    assert "rank protocol only" in capsys.readouterr().err
