# Sourced by scripts/run: the addresses Daphne listens on.
#
# DEV_PORTS=3002,3003 makes one Daphne listen on each listed port: the Flutter app in development
# calls its profile service on 3002 and its chat service on 3003, and this project serves both
# from the same routes. Without DEV_PORTS: PORT (default 8000). HOST (default 127.0.0.1) for all.

# Prints a Daphne `-e <endpoint>` pair per port, one word per line; nothing, and status 1, when a
# port is not a number.
daphne_listen_args() {
  local ports port host="${HOST:-127.0.0.1}" words=()
  IFS=',' read -ra ports <<< "${DEV_PORTS:-${PORT:-8000}}"
  for port in "${ports[@]}"; do
    port="${port//[[:space:]]/}"
    [ -n "$port" ] || continue
    if ! [[ "$port" =~ ^[0-9]+$ ]]; then
      echo "DEV_PORTS: '$port' is not a port number" >&2
      return 1
    fi
    words+=(-e "tcp:port=${port}:interface=${host//:/\\:}")  # an IPv6 address's colons escaped
  done
  printf '%s\n' "${words[@]}"
}
