#!/bin/sh
# Run one nox session inside the image, in the image's own Python (no virtualenvs):
#   docker run IMAGE parity | bench | publish | tests  [-- pytest/asv arguments]
set -eu
mkdir -p /results/reports /results/asv
session="${1:-parity}"
[ "$#" -gt 0 ] && shift
exec nox --no-venv --noxfile /app/noxfile.py -s "$session" -- "$@"
