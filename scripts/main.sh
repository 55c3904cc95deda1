#!/usr/bin/env bash
# The main job on the bundled Yangpu riverfront scene: validate it and print its figures.
# (The wall display, issue "binjiang-wall", will take this command over.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
cargo build --release --locked -p binjiang
./target/release/binjiang validate scenes/yangpu-riverfront
./target/release/binjiang info scenes/yangpu-riverfront --json
