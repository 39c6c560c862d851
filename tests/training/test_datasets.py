import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ML100K, needs_ml100k
from training.datasets.movielens import load_movielens
from training.datasets.resolve import load_dataset
from training.datasets.synthetic import make_synthetic
from training.datasets.tabular import load_table
from training.interactions import DatasetError


def test_synthetic_same_seed_same_data():
    a = make_synthetic(200, 300, 5000, seed=7)
    b = make_synthetic(200, 300, 5000, seed=7)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != make_synthetic(200, 300, 5000, seed=8).fingerprint()


def test_synthetic_shape_and_realism():
    data = make_synthetic(300, 400, 12_000, seed=1)
    frame = data.frame
    assert len(frame) == 12_000
    assert not frame.duplicated(["user", "item"]).any()
    assert set(frame["rating"].unique()) <= {1, 2, 3, 4, 5}
    assert frame["user"].nunique() == 300
    counts = frame["item"].value_counts().to_numpy()
    assert counts[:40].sum() > 0.25 * len(frame)  # power-law popularity: the head is heavy
    assert len(data.items) == 400 and data.items["title"].str.len().min() > 0
    assert data.items["genres"].str.len().min() > 0


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_movielens_100k_layout(tmp_path):
    _write(tmp_path / "u.data", "1\t10\t5\t881250949\n2\t10\t3\t881250950\n")
    genres = "|0|0" + "|0" * 16 + "|1"
    _write(tmp_path / "u.item", f"10|Toy Story (1995)|01-Jan-1995||http://x{genres}\n", "latin-1")
    data = load_movielens(tmp_path)
    assert len(data) == 2
    assert data.titles() == {"10": "Toy Story (1995)"}
    assert data.items["genres"][0] == "Western"


def test_movielens_1m_layout(tmp_path):
    _write(tmp_path / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n")
    _write(
        tmp_path / "movies.dat",
        "1193::One Flew (1975)::Drama\n661::Giant (1996)::Animation|Children's\n",
    )
    data = load_movielens(tmp_path)
    assert data.frame["item"].tolist() == ["1193", "661"]
    assert data.titles()["661"] == "Giant (1996)"


def test_movielens_csv_layout(tmp_path):
    _write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n")
    _write(tmp_path / "movies.csv", 'movieId,title,genres\n1,"Toy Story, The (1995)",Comedy\n')
    data = load_movielens(tmp_path)
    assert data.frame["rating"].tolist() == [4.0]
    assert data.titles() == {"1": "Toy Story, The (1995)"}


def test_movielens_malformed_line_names_file_and_line(tmp_path):
    _write(tmp_path / "u.data", "1\t10\t5\t881250949\n2\t10\tfive\t881250950\n")
    with pytest.raises(DatasetError) as error:
        load_movielens(tmp_path)
    assert error.value.line == 2 and "u.data" in str(error.value) and "rating" in str(error.value)


def test_movielens_wrong_field_count_names_line(tmp_path):
    _write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,5\n1,2,3,4,9\n")
    with pytest.raises(DatasetError) as error:
        load_movielens(tmp_path)
    assert error.value.line == 3


def test_table_csv_with_column_mapping(tmp_path):
    path = _write(
        tmp_path / "reviews.csv", "reviewerID,asin,overall,unixReviewTime\nA,X,5,1400000000\n"
    )
    data = load_table(path, {"user": "reviewerID", "item": "asin", "rating": "overall"})
    assert data.frame.iloc[0].tolist() == ["A", "X", 5.0, 1400000000, True]


def test_table_without_ratings_holds_events_not_ratings(tmp_path):
    path = _write(tmp_path / "clicks.csv", "user,item\nA,X\nB,X\n")
    data = load_table(path, None)
    assert data.frame["rating"].tolist() == [1.0, 1.0] and not data.frame["is_rating"].any()


def test_table_gzipped_jsonl_iso_and_millisecond_times(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    rows = [
        {"user_id": "u", "item_id": "i", "time": "2020-01-01T00:00:00Z"},
        {"user_id": "v", "item_id": "i", "time": "2020-01-02T00:00:00Z"},
    ]
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(json.dumps(r) for r in rows))
    data = load_table(path)
    assert data.frame["timestamp"].tolist() == [1577836800, 1577923200]
    assert data.frame["rating"].tolist() == [1.0, 1.0]  # implicit


def test_table_parquet(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame(
        {"user": ["1"], "item": ["2"], "rating": [3.0], "timestamp": [1_600_000_000_000]}
    ).to_parquet(path)
    assert load_table(path).frame["timestamp"].tolist() == [1_600_000_000]


def test_table_bad_json_line_reported(tmp_path):
    path = _write(tmp_path / "e.jsonl", '{"user": "a", "item": "b"}\n{oops\n')
    with pytest.raises(DatasetError) as error:
        load_table(path)
    assert error.value.line == 2


def test_load_dataset_unknown_spec_lists_choices():
    with pytest.raises(DatasetError, match="synthetic"):
        load_dataset("no-such-thing")


@pytest.mark.slow
@needs_ml100k
def test_ml100k_loads_completely():
    data = load_movielens(ML100K)
    assert len(data) == 100_000
    assert data.frame["user"].nunique() == 943 and data.frame["item"].nunique() == 1682
    assert data.titles()["50"] == "Star Wars (1977)"
    assert np.isin(data.frame["rating"].unique(), [1, 2, 3, 4, 5]).all()
