"""GET /recommend/{user_id}, GET /similar/{item_id}, POST /score."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import ModelDep, SessionDep
from app.schemas import ItemIdPath, K, RecommendOut, ScoreIn, ScoreOut, SimilarOut, UserIdPath
from app.store.repository import seen_item_ids

router = APIRouter(tags=["recommendations"])


@router.get("/recommend/{user_id}", response_model=RecommendOut, summary="Top-k items for a user")
def recommend(user_id: UserIdPath, model: ModelDep, session: SessionDep, k: K = 10) -> dict:
    """Items the user has not interacted with (in the store, also after training), best first.
    A user the model does not know gets popular items and `cold_start: true`."""
    result = model.recommend(user_id, k, seen_item_ids(session, user_id))
    return {
        "user_id": result.user_id,
        "model": result.model,
        "cold_start": result.cold_start,
        "items": [item.__dict__ for item in result.items],
    }


@router.get("/similar/{item_id}", response_model=SimilarOut, summary="Items similar to an item")
def similar(item_id: ItemIdPath, model: ModelDep, k: K = 10) -> dict:
    """Nearest items by cosine similarity of the model's item embeddings (never the item)."""
    items = model.similar(item_id, k)
    return {"item_id": item_id, "model": model.name, "items": [i.__dict__ for i in items]}


@router.post("/score", response_model=ScoreOut, summary="Score given items for a user")
def score(body: ScoreIn, model: ModelDep) -> dict:
    """Model scores in the order asked; unknown items are a 404 naming them."""
    cold, scores = model.score(body.user_id, body.item_ids)
    return {
        "user_id": body.user_id,
        "model": model.name,
        "cold_start": cold,
        "scores": [{"item_id": i, "score": s} for i, s in zip(body.item_ids, scores, strict=True)],
    }
