#!/bin/bash
# restart-loop.sh: restart the daemon that ../shared/kubelet/run.sh started,
# every PERIOD seconds with signal SIG, while its suite runs. It proves a
# kubelet's pods survive daemon crashes (KILL) and restarts (TERM): run it
# beside run.sh with the same KUBELET_STATE_DIR, e.g.
#   KUBELET_STATE_DIR=/var/run/crio ../shared/kubelet/run.sh &
#   test/kubelet/restart-loop.sh 40 KILL
# Not part of make test: it needs the kit's kubelet build.
set -u
ST=${KUBELET_STATE_DIR:-/var/lib/crio-kubelet}
RESULTS=${KUBELET_RESULTS_DIR:-/opt/crio-kubelet/results}
PERIOD=${1:-40}
SIG=${2:-KILL}
CRIO=$(cd "$(dirname "$0")/../.." && pwd)/bin/crio

sleep "$PERIOD"
n=0
while pgrep -f e2e_node.test >/dev/null && [ -s "$ST/crio.pid" ]; do
	pid=$(cat "$ST/crio.pid")
	res=$(ls -d "$RESULTS"/2* | tail -1)
	kill "-$SIG" "$pid" 2>/dev/null || break
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	# as run.sh starts it; the log is appended to
	CONTAINERS_REGISTRIES_CONF=$ST/registries.conf setsid "$CRIO" --config "$ST/crio.conf" \
		--config-dir "" --log-level "${CRIO_LOG_LEVEL:-info}" >>"$res/crio.log" 2>&1 </dev/null &
	last=$!
	echo "$last" >"$ST/crio.pid"
	n=$((n + 1))
	echo "$(date +%T) restart $n ($SIG): pid $pid -> $last"
	sleep "$PERIOD"
done
# A restart that raced run.sh's cleanup (it read the old pid) leaves a daemon
# behind: stop the last one started here once run.sh is gone.
while pgrep -f kubelet/run.sh >/dev/null; do sleep 1; done
if [ -n "${last:-}" ] && kill -0 "$last" 2>/dev/null; then
	echo "stopping daemon $last, left by a restart during run.sh's cleanup"
	kill "$last"
fi
