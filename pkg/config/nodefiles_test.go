package config

import (
	"strings"
	"testing"
)

func TestParseDevice(t *testing.T) {
	tests := []struct {
		in   string
		want Device
		bad  bool
	}{
		{in: "/dev/fuse", want: Device{"/dev/fuse", "/dev/fuse", "rwm"}},
		{in: "/dev/sdc:/dev/xvdc:rw", want: Device{"/dev/sdc", "/dev/xvdc", "rw"}},
		{in: "/dev/sdc:r", want: Device{"/dev/sdc", "/dev/sdc", "r"}},
		{in: "/dev/sdc:/dev/xvdc", want: Device{"/dev/sdc", "/dev/xvdc", "rwm"}},
		{in: "dev/sdc", bad: true},
		{in: "/dev/sdc:xvdc", bad: true},
		{in: "/dev/sdc::rw", bad: true},
		{in: "/dev/sdc:/dev/x:rx", bad: true},
		{in: "/dev/sdc:/dev/x:rw:m", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseDevice(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("%q: %+v, %v", tt.in, got, err)
		}
	}
}

func TestNodeFileKeysValidated(t *testing.T) {
	for body, wantErr := range map[string]string{
		"[crio.runtime]\nadditional_devices = [\"/dev/fuse:/dev/f:rwx\"]\n":            "crio.runtime.additional_devices",
		"[crio.runtime]\ntimezone = \"Mars/Olympus\"\n":                                "crio.runtime.timezone",
		"[crio.runtime]\ntimezone = \"../../etc/passwd\"\n":                            "crio.runtime.timezone",
		"[crio.runtime]\nhooks_dir = [\"hooks.d\"]\n":                                  "crio.runtime.hooks_dir",
		"[crio.runtime]\ndefault_mounts_file = \"mounts.conf\"\n":                      "crio.runtime.default_mounts_file",
		"[crio.runtime]\ntimezone = \"Local\"\nadditional_devices = [\"/dev/fuse\"]\n": "",
		"[crio.runtime]\ntimezone = \"UTC\"\n":                                         "",
		"[crio.runtime.runtimes.runc]\nseccomp_profile = \"/etc/p.json\"\n":            "",
	} {
		c, _, err := Load([]string{writeFile(t, t.TempDir(), "n.conf", body)})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Validate()
		if wantErr == "" && err != nil || wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("%q: error %v, want %q", body, err, wantErr)
		}
	}
}
