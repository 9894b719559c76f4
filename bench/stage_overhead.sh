#!/bin/bash
# Per-stage Prefect overhead of a plain `dvc repro` (no PREFECT_API_URL, no server running):
# a tiny copy of the project (SRC_ROOT: a checkout), then `dvc repro -f -s ingest` four
# times (6 chorales: ~1 s of work), each line with its wall time, the telemetry lines it
# printed and the temporary Prefect servers it booted. Run with the project's venv active:
#   bash bench/stage_overhead.sh SRC_ROOT DEST
SRC=$1; DEST=$2
rm -rf "$DEST"; mkdir -p "$DEST"
unset PREFECT_API_URL ATTNLIB_PREFECT_DISCOVER
export OMP_NUM_THREADS=1 HOME=$DEST/home; mkdir -p "$HOME"
export ATTNLIB_PREFECT_PORT=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cd "$SRC" && python - "$DEST/p" <<'PY'
import sys, yaml
from pathlib import Path
from bench.project import copy_project
p = Path(sys.argv[1]); p.mkdir()
copy_project(p)
params = yaml.safe_load((p / "params.yaml").read_text())
params["ingest"].update({"limit": 6, "workers": 1})
(p / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
PY
cd "$DEST/p"
git init -q -b main && git add -A && git -c user.name=b -c user.email=b@b commit -qm tiny
export PYTHONPATH=$DEST/p
for i in 1 2 3 4; do
  /usr/bin/time -f "dvc repro -f -s ingest: %e s" dvc repro -f -s ingest >"$DEST/run$i.log" 2>&1
  echo "$(tail -1 "$DEST/run$i.log")  telemetry lines: $(grep -c telemetry "$DEST/run$i.log")" \
       " temporary servers: $(grep -c 'Starting temporary server' "$DEST/run$i.log")" \
       " load: $(cut -d' ' -f1 /proc/loadavg)"
done
python -m flows.server stop 2>/dev/null || true
