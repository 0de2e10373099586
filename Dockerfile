# The AIdeator server image: `aideator serve` from the built wheel, as a non-root user.
#
#   docker build -t aideator .
#   docker compose up -d          # the server + a Dagger engine (compose.yaml)
#
# What only .github/workflows/image.yml proves (this repository's own test machine cannot
# build images): see docs/deploy.md.

ARG PYTHON_IMAGE=python:3.12-slim

# --- 1. build the wheel (sdist first, then the wheel from it, as a release does) ----------
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
COPY pyproject.toml uv.lock README.md dagger.json ./
COPY app ./app
COPY agent_image ./agent_image
COPY dagger/pyproject.toml dagger/uv.lock ./dagger/
COPY dagger/src ./dagger/src
COPY examples ./examples
RUN uv build --out-dir /dist \
    && uv export --frozen --no-dev --no-emit-project --no-hashes --output-file /dist/requirements.txt

# --- 2. the runtime image -------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# The Dagger CLI the `dagger` backend calls: one `dagger call` per variation. Keep it equal
# to engineVersion in dagger.json and to the engine image in compose.yaml.
ARG DAGGER_VERSION=0.21.11
ARG TARGETARCH=amd64

# git for repositories; bubblewrap for the `local` backend (it needs user namespaces, which
# most container runtimes refuse: deployments use the `dagger` backend).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git bubblewrap ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN set -eux; \
    base="https://dl.dagger.io/dagger/releases/${DAGGER_VERSION}"; \
    file="dagger_v${DAGGER_VERSION}_linux_${TARGETARCH}.tar.gz"; \
    cd /tmp; \
    curl -fsSLO "${base}/${file}"; \
    curl -fsSL "${base}/checksums.txt" | grep " ${file}\$" | sha256sum -c -; \
    tar -xzf "${file}" -C /usr/local/bin dagger; \
    rm "${file}"; \
    dagger version

COPY --from=build /dist /tmp/dist
RUN pip install --no-cache-dir -r /tmp/dist/requirements.txt /tmp/dist/aideator-*.whl \
    && rm -rf /tmp/dist \
    && aideator --version

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin aideator \
    && mkdir /data \
    && chown aideator:aideator /data
USER aideator
WORKDIR /data

# The server binds 0.0.0.0 only when API keys are set (AIDEATOR_API_KEYS); without them it
# stays on the container's loopback and says so.
ENV AIDEATOR_HOST=0.0.0.0 \
    AIDEATOR_PORT=8000 \
    AIDEATOR_DATA_DIR=/data/aideator \
    AIDEATOR_DATABASE_URL=sqlite+aiosqlite:////data/aideator.db \
    AIDEATOR_BACKEND=dagger \
    DAGGER_NO_NAG=1 \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4)"]

ENTRYPOINT ["aideator"]
CMD ["serve"]
