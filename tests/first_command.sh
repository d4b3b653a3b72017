#!/bin/sh
# A newcomer's first command, exactly as the README writes it, in a fresh copy of the
# repository with a fresh venv (runtime dependencies only): the server must answer /health
# and the demo logins must be printed.
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill -TERM -- -"$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$work"
cmd=$(awk '/^```/{n++; next} n==1' README.md | sed '/^\s*$/d' | head -n 1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "first command: $cmd (port $port)"
(cd "$work" && ELEARN_PORT="$port" exec setsid sh -c "$cmd" >"$work/serve.log" 2>&1) &
pid=$!
for _ in $(seq 1 300); do
  if python3 -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=2).status != 200)" 2>/dev/null; then
    if grep -q "learner@nottinghamshire" "$work/serve.log" && grep -q "admin@leicestershire" "$work/serve.log"; then
      echo "first command: /health answers and the demo logins are printed"
      exit 0
    fi
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
echo "first command failed; its output:" >&2
tail -n 40 "$work/serve.log" >&2
exit 1
