# The cdnlab image every node of docker-compose.yml runs (`cdn origin`, `cdn edge`).
# Build: docker build -t cdnlab:local .   (docker compose up --build does it for you)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what `pip install .` needs, so a change to tests or docs does not rebuild the image.
COPY pyproject.toml README.md ./
COPY cdn ./cdn
COPY cli ./cli
COPY cluster ./cluster
COPY edge ./edge
COPY origin ./origin
COPY serving ./serving
COPY fn ./fn
COPY sim ./sim
COPY loadgen ./loadgen
COPY planner ./planner
COPY demo ./demo
RUN pip install . && useradd --system --uid 10001 --no-create-home cdnlab

# Topologies; docker-compose.yml also mounts the one it was rendered from over its copy here.
COPY configs ./configs

USER cdnlab
# The healthchecks and `cdn` itself only need python; no curl in the image.
CMD ["cdn", "--help"]
