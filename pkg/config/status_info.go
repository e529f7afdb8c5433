package config

import (
	"encoding/json"
	"fmt"
)

// StatusInfo is the verbose Status "config" (crictl info): the
// effective config keyed by TOML names, plus what CRI-O reports there: the
// pause image as "sandboxImage", and the [crio.runtime] table by its Go field
// names inside "crio" (DefaultRuntime, CtrStopTimeout, Runtimes.<name>.
// ContainerCreateTimeout, MonitorCgroup ...), so tools reading CRI-O's shape
// find the same values. TOML keys are lower case, so the two never clash.
func (c *Config) StatusInfo() (string, error) {
	m, err := c.ToMap()
	if err != nil {
		return "", err
	}
	rt, err := json.Marshal(c.Crio.Runtime)
	if err != nil {
		return "", fmt.Errorf("encode runtime config: %w", err)
	}
	var goNames map[string]any
	if err := json.Unmarshal(rt, &goNames); err != nil {
		return "", fmt.Errorf("decode runtime config: %w", err)
	}
	crio, _ := m["crio"].(map[string]any)
	if crio == nil {
		crio = map[string]any{}
		m["crio"] = crio
	}
	for k, v := range goNames {
		crio[k] = v
	}
	m["sandboxImage"] = c.Crio.Image.PauseImage
	data, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(data), nil
}
