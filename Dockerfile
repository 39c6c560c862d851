# syntax=docker/dockerfile:1
# Two images from one file:
#   target "serve" (the default, last stage): the API only (app/): numpy scoring, no training
#     package, no pandas, no TensorFlow.
#   target "train": adds training/ with TensorFlow, pandas and implicit (with OpenMP's
#     libgomp) for `reco import` / `reco train`.
# Both install from constraints.txt, so a rebuild gets the versions that were tested.

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv

FROM base AS build-serve
COPY pyproject.toml README.md constraints.txt ./
COPY app ./app
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -q -c constraints.txt ".[postgres]"

FROM build-serve AS build-train
COPY training ./training
RUN /opt/venv/bin/pip install -q -c constraints.txt ".[train,postgres]"

FROM base AS runtime
RUN useradd --create-home --uid 10001 --user-group reco \
 && mkdir -p /data /artifacts \
 && chown reco:reco /data /artifacts
ENV PATH=/opt/venv/bin:$PATH \
    RECO_DATABASE_URL=sqlite:////data/reco.db \
    RECO_ARTIFACTS_DIR=/artifacts
EXPOSE 8000

FROM runtime AS train
# implicit's ALS solver links the system's OpenMP runtime, which the slim image lacks
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build-train /opt/venv /opt/venv
USER reco
CMD ["reco", "--help"]

FROM runtime AS serve
COPY --from=build-serve /opt/venv /opt/venv
USER reco
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["reco-serve", "--host", "0.0.0.0", "--port", "8000"]
