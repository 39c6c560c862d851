"""Above the catalog-size threshold, /recommend and /similar go through the IVF index."""

import shutil

import pytest

from tests.app.conftest import make_client


def _ids(body: dict) -> list[str]:
    return [item["item_id"] for item in body["items"]]


def test_ann_paths_agree_with_exact(mf_artifacts, tmp_path):
    artifacts = tmp_path / "artifacts"
    shutil.copytree(mf_artifacts, artifacts)
    with (
        make_client(artifacts, tmp_path / "exact") as exact,
        make_client(artifacts, tmp_path / "ann", ann_threshold=1) as ann,
    ):
        for user in ("0", "7", "15"):
            want = exact.get(f"/recommend/{user}", params={"k": 5}).json()
            got = ann.get(f"/recommend/{user}", params={"k": 5}).json()
            assert _ids(got) == _ids(want)
            assert [i["score"] for i in got["items"]] == [
                pytest.approx(i["score"], abs=1e-4) for i in want["items"]
            ]
        for item in ("3", "12"):
            want = exact.get(f"/similar/{item}", params={"k": 4, "exclude": "5"}).json()
            got = ann.get(f"/similar/{item}", params={"k": 4, "exclude": "5"}).json()
            assert _ids(got) == _ids(want) and item not in _ids(got) and "5" not in _ids(got)
    bundle = next(p for p in artifacts.iterdir() if p.is_dir())
    assert (bundle / "ann-ip" / "ann-ivf.faiss").is_file()  # cached for the next start
