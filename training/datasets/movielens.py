"""MovieLens in the three layouts found in the wild, detected from the files in a folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from training.datasets.parsing import id_column, numeric_column, read_delimited
from training.datasets.stream import TableStream, delimited_stream, read_header
from training.interactions import DatasetError, Interactions, empty_items

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
LAYOUTS = ("u.data", "ratings.dat", "ratings.csv")
_COLUMNS = ["user", "item", "rating", "timestamp"]


def is_movielens(folder: Path) -> bool:
    return any((folder / name).is_file() for name in LAYOUTS)


def load_movielens(folder: Path) -> Interactions:
    """Load ratings (and titles/genres when present) from a MovieLens folder."""
    folder = Path(folder)
    if (folder / "u.data").is_file():
        frame = _ratings(folder / "u.data", "\t", header=False)
        items = _ml100k_items(folder)
    elif (folder / "ratings.dat").is_file():
        frame = _ratings(folder / "ratings.dat", "::", header=False)
        items = _movies(folder / "movies.dat", "::", header=False)
    elif (folder / "ratings.csv").is_file():
        frame = _ratings(folder / "ratings.csv", ",", header=True)
        items = _movies(folder / "movies.csv", ",", header=True)
    else:
        raise DatasetError(folder, f"no MovieLens ratings file; looked for {', '.join(LAYOUTS)}")
    return Interactions(frame, folder.name or str(folder), items)


def movielens_stream(folder: Path) -> TableStream:
    """The ratings of a MovieLens folder in chunks, with its titles and genres beside."""
    folder = Path(folder)
    roles = dict(zip(_COLUMNS, _COLUMNS, strict=True))
    if (folder / "u.data").is_file():
        stream = delimited_stream(folder / "u.data", "\t", roles, names=_COLUMNS,
                                  encoding="latin1")  # fmt: skip
        items = _ml100k_items(folder)
    elif (folder / "ratings.dat").is_file():  # "::" separated: ":" with empty fields between
        names = ["user", "_1", "item", "_2", "rating", "_3", "timestamp"]
        stream = delimited_stream(folder / "ratings.dat", ":", roles, names=names,
                                  encoding="latin1")  # fmt: skip
        items = _movies(folder / "movies.dat", "::", header=False)
    elif (folder / "ratings.csv").is_file():
        path = folder / "ratings.csv"  # the first four columns, whatever their names
        header = read_header(path, ",", "latin1")
        roles = dict(zip(_COLUMNS, header, strict=False))
        stream = delimited_stream(path, ",", roles, encoding="latin1")
        items = _movies(folder / "movies.csv", ",", header=True)
    else:
        raise DatasetError(folder, f"no MovieLens ratings file; looked for {', '.join(LAYOUTS)}")
    stream.items = items
    return stream


def _ratings(path: Path, sep: str, *, header: bool) -> pd.DataFrame:
    raw = read_delimited(path, sep, None if header else _COLUMNS, encoding="latin-1")
    if header:
        raw = raw.iloc[:, :4]
        raw.columns = _COLUMNS
    first = 2 if header else 1
    return pd.DataFrame(
        {
            "user": id_column(raw, "user", path, first),
            "item": id_column(raw, "item", path, first),
            "rating": numeric_column(raw, "rating", path, first),
            "timestamp": numeric_column(raw, "timestamp", path, first),
        }
    )


def _ml100k_items(folder: Path) -> pd.DataFrame:
    path = folder / "u.item"
    if not path.is_file():
        return empty_items()
    genres = ML100K_GENRES
    genre_file = folder / "u.genre"
    if genre_file.is_file():
        lines = genre_file.read_text(encoding="latin-1").splitlines()
        genres = tuple(line.split("|")[0] for line in lines if "|" in line)
    raw = read_delimited(path, "|", [str(i) for i in range(5 + len(genres))], encoding="latin-1")
    flags = raw.iloc[:, 5:].to_numpy() == "1"
    names = ["|".join(g for g, on in zip(genres, row, strict=True) if on) for row in flags]
    return pd.DataFrame({"item": raw["0"], "title": raw["1"], "genres": names})


def _movies(path: Path, sep: str, *, header: bool) -> pd.DataFrame:
    if not path.is_file():
        return empty_items()
    names = None if header else ["item", "title", "genres"]
    raw = read_delimited(path, sep, names, encoding="latin-1")
    raw = raw.iloc[:, :3]
    raw.columns = ["item", "title", "genres"]
    raw["genres"] = raw["genres"].replace("(no genres listed)", "")
    return raw


def load_movielens_split(folder: Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An official MovieLens 100K split (`u1` .. `u5`, `ua`, `ub`): (base, test) frames."""
    frames = []
    for suffix in ("base", "test"):
        data = Interactions(_ratings(Path(folder) / f"{name}.{suffix}", "\t", header=False), name)
        frames.append(data.frame)
    return frames[0], frames[1]
