"""The model, page and filters of a GET /recommend (model, k, offset, exclude, category,
exclude_seen, explain), validated by hand (app/routes/hand_query.py) and declared in the
OpenAPI document by `LIST_PARAMETERS`, as the rules are (app/routes/rule_params.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from pydantic import BaseModel, Field, StringConstraints

from app.deps import MODEL_HELP
from app.ids import ID_LENGTH
from app.routes.hand_query import declared, parsed

# A GET's whole request line must fit the ~64 KiB that uvicorn reads before the app (beyond
# it a client gets a plain-text 400 no schema describes): 32 ids of 128 four-byte characters,
# percent-encoded, take 49 KB. Longer exclusion lists go in POST /recommend's body.
MAX_QUERY_EXCLUDE = 32
EXCLUDE_HELP = (
    f"item ids to leave out (repeat, or comma-separated), at most {MAX_QUERY_EXCLUDE} values "
    f"of {ID_LENGTH} characters; POST /recommend takes more"
)
K_HELP = "how many items (1-1000)"
OFFSET_HELP = "skip this many (paging)"
CATEGORY_HELP = "only items of this category"


class ListQuery(BaseModel):
    """Which model, which page of a user's list, and what it leaves out."""

    model: str | None = Field(None, max_length=128, description=MODEL_HELP)

    k: int = Field(10, ge=1, le=1000, description=K_HELP)
    offset: int = Field(0, ge=0, le=10_000, description=OFFSET_HELP)
    exclude: list[Annotated[str, StringConstraints(max_length=ID_LENGTH)]] | None = Field(
        None, max_length=MAX_QUERY_EXCLUDE, description=EXCLUDE_HELP
    )
    category: str | None = Field(None, min_length=1, max_length=64, description=CATEGORY_HELP)
    exclude_seen: bool = Field(True, description="leave out items already seen")
    explain: bool = Field(False, description="add the history items behind each")


DEFAULT_LIST = ListQuery()
LIST_PARAMETERS = declared(ListQuery)


def list_query(request: Request) -> ListQuery:
    """Called by the route itself: a FastAPI dependency costs more than the parsing."""
    return parsed(request, ListQuery, frozenset({"exclude"})) or DEFAULT_LIST
