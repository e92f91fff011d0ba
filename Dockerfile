# One replica of the layout in docs/deploy.md: `assist db upgrade`, then `assist serve` on port 8000.
# deploy/compose.yaml runs two of these on PostgreSQL behind nginx (deploy/nginx.conf); tests/cluster/ runs the
# same layout on one machine (Docker's daemon is not available where this project is built and tested, so the
# cluster test, not this file, is what proves the layout).
#
#   docker build -t assist .
#   docker run -e ASSIST_DATABASE_URL=postgresql+psycopg://assist:secret@db:5432/assist -p 8000:8000 assist
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ASSIST_DATA_DIR=/data

WORKDIR /app

# torch first, and the CPU build: pyproject pins torch==2.13.0, and from PyPI's default index a plain
# `pip install torch` pulls the CUDA build (gigabytes of GPU libraries a CPU server never loads). The CPU
# wheel comes from PyTorch's CPU index; the next pip install then finds the pin satisfied.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# the wheel carries kb_docs/ (rules, playbooks, claim model) and prompts/ under assist/_bundled (setup.py)
COPY pyproject.toml setup.py MANIFEST.in README.md api.py ./
COPY assist ./assist
COPY ingest ./ingest
COPY kb_docs ./kb_docs
COPY prompts ./prompts
RUN pip install '.[postgres]' && rm -rf /app/assist /app/ingest /app/kb_docs /app/prompts

# the data dir holds this replica's FAISS/BM25 index files (rebuilt from the database when missing)
RUN useradd --system --create-home --home-dir /home/assist assist && mkdir -p /data && chown assist /data
USER assist
VOLUME /data
EXPOSE 8000

# readiness, as the balancer should see it: the database answers, the indexes and the guard's rules are loaded
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3).status != 200)"

# `assist serve` runs the migrations too (under the database's lock); running them first makes a failed
# migration fail the container before it listens
CMD ["sh", "-c", "assist db upgrade && exec assist serve --host 0.0.0.0 --port 8000"]
