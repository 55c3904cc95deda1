#!/usr/bin/env bash
# The main job: the control-room wall display on the bundled Yangpu riverfront scene.
# With no display it says how to get a screenshot instead (--screenshot, under Xvfb).
# Extra arguments go to binjiang-wall, e.g. `bash scripts/main.sh --at 18:00 --speed 600`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
cargo run --release --locked -p binjiang-wall -- scenes/yangpu-riverfront "$@"
