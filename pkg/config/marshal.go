package config

import (
	"bytes"
	"fmt"

	"github.com/BurntSushi/toml"
)

// ToMap returns c keyed by its TOML names (crio.api.listen ...), the shape
// the Status RPC reports and crictl info prints.
func (c *Config) ToMap() (map[string]any, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	m := map[string]any{}
	if _, err := toml.Decode(buf.String(), &m); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	return m, nil
}

// FromMap is the inverse of ToMap; m may come from JSON (numbers as float64).
func FromMap(m map[string]any) (*Config, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(wholeNumbers(m)); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	c := &Config{}
	if _, err := toml.Decode(buf.String(), c); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	return c, nil
}

// wholeNumbers turns JSON's float64 integers back into int64 for TOML.
func wholeNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = wholeNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = wholeNumbers(e)
		}
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	}
	return v
}
