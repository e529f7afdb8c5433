// Package sdnotify tells systemd about the daemon's state (Type=notify units)
// through go-systemd's daemon package.
package sdnotify

import (
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notify sends state (e.g. "READY=1") to $NOTIFY_SOCKET; without one it does nothing.
func Notify(state string) error {
	_, err := daemon.SdNotify(false, state)
	return err
}

// WatchdogInterval is how often to tell systemd we are alive: half of
// WATCHDOG_USEC when the unit has WatchdogSec and the variable is ours
// (WATCHDOG_PID unset or this process); 0 otherwise.
func WatchdogInterval() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0
	}
	return d / 2
}
