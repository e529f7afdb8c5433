package config

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("1m0s") in TOML,
// the way CRI-O writes its duration keys.
type Duration struct{ time.Duration }

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q", string(b))
	}
	d.Duration = v
	return nil
}
