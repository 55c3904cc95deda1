#!/usr/bin/env bash
# Regenerates docs/wall.png, the README's picture of the wall display (works without a
# screen: binjiang-wall runs itself under Xvfb with Mesa's software Vulkan driver).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
mkdir -p docs
cargo run --release --locked -p binjiang-wall -- scenes/yangpu-riverfront --at 10:00 --window 1920x1080 --screenshot docs/wall.png
