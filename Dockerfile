# The cdnlab image every node of docker-compose.yml runs (`cdn origin`, `cdn edge`).
# Build: docker build -t cdnlab:local .   (docker compose up --build does it for you)
# BASE_IMAGE: any Debian-like image with Python 3.11+ and pip; the tests, on machines with no
# image registry, pass a stand-in made from Debian packages (.ci/docker-base-image).
ARG BASE_IMAGE=python:3.11-slim

# The dependency list alone, read from pyproject.toml. The next stage copies only this list, and
# a copy is cached by content: an edit elsewhere in pyproject.toml does not reinstall them.
FROM ${BASE_IMAGE} AS requirements
COPY pyproject.toml /src/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" > /requirements.txt

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The dependencies first, in a layer of their own: a change to the code does not download them again.
COPY --from=requirements /requirements.txt /src/requirements.txt
RUN pip install -r /src/requirements.txt

# Then cdnlab itself, installed as users install it (not editable): the built-in topologies and
# plans come inside the package (cdn.builtin), so nothing is read from a source tree at run time.
COPY . /src
RUN pip install --no-deps /src \
    && rm -rf /src \
    && useradd --system --uid 10001 --no-create-home cdnlab \
    && mkdir /data && chown cdnlab /data
# A storage or table origin's named volume is mounted at /data: a new volume takes this
# folder's owner, so the unprivileged user can write its buckets and tables there.

# docker-compose.yml mounts the topology it was rendered from under /app/configs.
WORKDIR /app
USER cdnlab
# The healthchecks and `cdn` itself only need python; no curl in the image.
CMD ["cdn", "--help"]
