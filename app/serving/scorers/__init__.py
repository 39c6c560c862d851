"""Numpy scoring of exported model arrays, one scorer class per model kind, each answering
for its own fold-in.

Used by the serving process and by offline evaluation alike; never imports TensorFlow.
Each kind documents the arrays and params it expects; a bundle's manifest names the kind.
Importing the package registers every kind with `build_scorer`.
"""

from app.serving.scorers.base import (
    ALL_ITEMS,
    SCORERS,
    FoldInUnsupported,
    ItemSelection,
    Scorer,
    ScorerError,
    build_scorer,
    register_scorer,
)
from app.serving.scorers.dot import BiasScorer, DotScorer
from app.serving.scorers.item_item import ItemItemScorer
from app.serving.scorers.ncf import NCFScorer
from app.serving.scorers.popularity import PopularityScorer

__all__ = [
    "ALL_ITEMS",
    "SCORERS",
    "BiasScorer",
    "DotScorer",
    "FoldInUnsupported",
    "ItemItemScorer",
    "ItemSelection",
    "NCFScorer",
    "PopularityScorer",
    "Scorer",
    "ScorerError",
    "build_scorer",
    "register_scorer",
]
