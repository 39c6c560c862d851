"""Whose scores come from where: a user's trained model row while it is current, a vector
folded in from their stored history once they have events the model was not trained on, and
popular items for someone with no usable history. One policy for /recommend and /score."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

import numpy as np

from app.serving.bundle import Bundle
from app.serving.deletions import Cutoff
from app.serving.records import History
from app.serving.scorers import FoldInUnsupported


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class UserScoring:
    """The staleness policy and the fold-in of one loaded bundle. Items the user gave
    feedback of the `negative_kinds` (dislikes) are never folded in as positives: the scorer
    holds them as explicit negatives where its objective can (als), else gives them no
    weight."""

    def __init__(
        self, bundle: Bundle, popularity: np.ndarray, negative_kinds: Collection[str]
    ) -> None:
        self._bundle = bundle
        self._popularity = popularity
        self._negative_kinds = frozenset(negative_kinds)
        self._trained_at = _utc(datetime.fromisoformat(bundle.created_at)).timestamp()
        dataset = bundle.manifest.get("dataset", {})
        self._trained_through = dataset.get("latest_interaction_id")
        self.cutoff = Cutoff(dataset.get("latest_deletion_id"), self._trained_at)
        # (item names of a store view, their indices in this bundle): see History
        self._code_table: tuple[Sequence[str], np.ndarray] = ([], np.empty(0, np.int32))

    def history_items(self, history: History) -> np.ndarray:
        """This bundle's indices (-1 where unknown) of the history's items, translated by a
        table that grows with the view's item list instead of per request."""
        names, indices = self._code_table
        if names is not history.item_names:  # another view: start a table for it
            names, indices = history.item_names, np.empty(0, np.int32)
        if len(indices) < len(names):  # the view learned new items since
            fresh = self._bundle.item_map.encode(names[len(indices) :])
            indices = np.concatenate([indices, fresh])
            self._code_table = (names, indices)
        return indices[history.item_codes]

    def seen(self, history: History) -> np.ndarray:
        """Indices of the history's items this bundle knows (repeats kept)."""
        items = self.history_items(history)
        return items[items >= 0]

    def negatives(self, history: History) -> np.ndarray:
        """Indices of the items the user gave negative feedback (never recommended to them)."""
        items = self.history_items(history)[history.of_kinds(self._negative_kinds)]
        return items[items >= 0]

    def _has_newer(self, history: History) -> bool:
        """Whether the model was trained without some of these events: by interaction id when
        it was trained from the store, else API events stored after the bundle was made."""
        if self._trained_through is not None:
            return bool((history.ids > self._trained_through).any())
        return history.newest_api_at > self._trained_at

    def _row(self, user_id: str, history: History) -> int:
        """The user's model row; -1 if the model does not know them or learned it from data
        the user was deleted from since (app/serving/deletions.py)."""
        return -1 if self.cutoff.applies(history.deleted) else self._bundle.user_map.get(user_id)

    def current_row(self, user_id: str, history: History) -> int | None:
        """The user's model row if the model knows them and was trained on all their events."""
        user = self._row(user_id, history)
        return user if user >= 0 and not self._has_newer(history) else None

    def needs_fold_in(self, user_id: str, history: History) -> bool:
        """Whether the user is answered from their history (`scores`), which then needs its
        fold-in columns, rather than from their model row."""
        return len(history) > 0 and self.current_row(user_id, history) is None

    def scores(self, user_id: str, history: History) -> tuple[np.ndarray, str]:
        """Every item's score for a user without a current model row, and the strategy:
        fold_in from their history; else their (older) trained row, `model`; else
        `popularity`, also when the model family cannot fold in."""
        columns = history.fold_in
        if columns is None:
            raise ValueError("a fold-in needs the history's fold-in columns (StoreView.fetch)")
        # oldest first by the events' own time (ties: the earlier stored), the order in which
        # training ranks a user's rows by recency
        order = np.lexsort((history.ids, columns.timestamps))
        items = self.history_items(history)[order]
        disliked = self.negatives(history)
        # a disliked item is no positive, whatever the user did with it before
        known = (items >= 0) & ~np.isin(items, disliked)
        if known.any():
            try:
                scores = self._bundle.scorer.fold_in_disliking(
                    items[known],
                    columns.values[order][known],
                    history.is_rating[order][known],
                    np.unique(disliked),
                )
                return np.asarray(scores, np.float32), "fold_in"
            except FoldInUnsupported:
                pass
        user = self._row(user_id, history)
        if user >= 0:
            return self._bundle.scorer.score_users(np.array([user]))[0], "model"
        return self._popularity, "popularity"

    def pair_scores(
        self, user_id: str, history: History, items: np.ndarray
    ) -> tuple[np.ndarray, str]:
        """Scores of `items` for a user, by the same policy as `scores` (for /score)."""
        row = self.current_row(user_id, history)
        if row is not None:
            return self._bundle.scorer.score_pairs(row, items), "model"
        scores, strategy = self.scores(user_id, history)
        return scores[items], strategy
