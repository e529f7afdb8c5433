package oci

import "testing"

func TestParseFeatures(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		userns    bool
	}{
		{"runc 1.2+", `{"linux":{"namespaces":["mount","user","network"],"mountExtensions":{"idmap":{"enabled":true}}}}`, true},
		{"idmap disabled", `{"linux":{"namespaces":["user"],"mountExtensions":{"idmap":{"enabled":false}}}}`, false},
		{"runc 1.1 (no mount extensions)", `{"linux":{"namespaces":["user","mount"]}}`, false},
		{"no user namespace", `{"linux":{"namespaces":["mount"],"mountExtensions":{"idmap":{"enabled":true}}}}`, false},
		{"not JSON", `Incorrect Usage`, false},
		{"no linux", `{}`, false},
	} {
		if got := parseFeatures([]byte(tc.doc)).UserNamespaces; got != tc.userns {
			t.Errorf("%s: UserNamespaces = %v, want %v", tc.name, got, tc.userns)
		}
	}
}
