"""Every model module, imported so that each registers itself by name."""

from training.models import (  # noqa: F401
    als,
    auto,
    bias,
    bpr,
    ease,
    implicit_mf,
    mf,
    ncf,
    popularity,
    two_tower,
)
