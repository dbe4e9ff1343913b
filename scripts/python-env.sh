#!/usr/bin/env bash
# Creates .venv (Python 3.10+) with the packages of requirements-ci.txt: the reference
# implementations the tests cross-check against and the ONNX tooling. Re-running is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
# A .venv without pip is a half-created one (an interrupted run): start it again.
if [ ! -x .venv/bin/python ] || [ ! -x .venv/bin/pip ]; then
  echo "python-env: creating .venv" >&2
  rm -rf .venv
  "$python" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements-ci.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "python-env: installing requirements-ci.txt" >&2
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-ci.txt
  echo "$want" > "$stamp"
fi
