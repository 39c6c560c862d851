import hashlib
import zipfile

import pytest

from training.datasets.download import download_movielens
from training.datasets.movielens import load_movielens
from training.interactions import DatasetError


def _archive(tmp_path, members: dict[str, str]):
    path = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        for name, text in members.items():
            bundle.writestr(name, text)
    return path, hashlib.md5(path.read_bytes()).hexdigest()


def test_download_verifies_and_unpacks(tmp_path):
    path, md5 = _archive(tmp_path, {"ml-100k/u.data": "1\t2\t5\t881250949\n"})
    folder = download_movielens("ml-100k", tmp_path / "data", url=path.as_uri(), md5=md5)
    assert folder == tmp_path / "data" / "ml-100k"
    assert len(load_movielens(folder)) == 1


def test_download_with_wrong_checksum_writes_nothing(tmp_path):
    path, _ = _archive(tmp_path, {"ml-100k/u.data": "1\t2\t5\t881250949\n"})
    with pytest.raises(DatasetError, match="checksum mismatch"):
        download_movielens("ml-100k", tmp_path / "data", url=path.as_uri(), md5="0" * 32)
    assert not (tmp_path / "data").exists()


def test_download_refuses_paths_outside_the_folder(tmp_path):
    path, md5 = _archive(tmp_path, {"../evil.txt": "x"})
    with pytest.raises(DatasetError, match="unsafe path"):
        download_movielens("ml-100k", tmp_path / "data", url=path.as_uri(), md5=md5)
    assert not (tmp_path / "evil.txt").exists()


def test_download_unknown_archive_lists_choices(tmp_path):
    with pytest.raises(ValueError, match="ml-100k, ml-1m"):
        download_movielens("ml-25m", tmp_path)
