"""Every model module, imported so that each registers itself by name."""

from training.models import mf, popularity  # noqa: F401
