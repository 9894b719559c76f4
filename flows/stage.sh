#!/bin/sh
# One pipeline stage as dvc.yaml runs it: `sh flows/stage.sh STAGE [ARGS]` = `python -m
# flows.STAGE [ARGS]` with the first Python that has the project's packages: `python`, then
# `python3` (an activated venv or your own environment), then the project's .venv (so
# `.venv/bin/dvc repro` works without activating it). None: one line saying what to do.
stage=$1
shift
check='import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ("attnlib", "polars", "prefect", "torch")))'
for py in python python3 .venv/bin/python; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c "$check" 2>/dev/null; then
        exec "$py" -m "flows.$stage" "$@"
    fi
done
echo "error: stage $stage: no python here has the project's packages (attnlib, polars, prefect, torch); run \`source .venv/bin/activate\` (after \`make install\`) or install attnlib into your environment, then run dvc again" >&2
exit 2
