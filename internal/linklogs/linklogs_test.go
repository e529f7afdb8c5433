package linklogs

import "testing"

func TestLinkTarget(t *testing.T) {
	for _, tc := range []struct {
		name, vol, uid, logDir string
		wantVol, wantLogs      string // "" = error
	}{
		{"kubelet dirs", "logging-volume", "u1", "", "/var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/logging-volume", "/var/log/pods/ns_pod_u1"},
		{"pod log dir", "logs", "u1", "/tmp/podlogs", "/var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/logs", "/tmp/podlogs"},
		{"volume with a space", "invalid path", "u1", "", "", ""},
		{"volume escaping", "../../../malicious", "u1", "", "", ""},
		{"upper case volume", "Logs", "u1", "", "", ""},
		{"uid with a slash", "logs", "../u1", "", "", ""},
		{"dot uid", "logs", "..", "", "", ""},
		{"no uid", "logs", "", "", "", ""},
	} {
		l, err := linkTarget(tc.vol, tc.uid, "ns", "pod", tc.logDir)
		if tc.wantVol == "" {
			if err == nil {
				t.Errorf("%s: %+v, want an error", tc.name, l)
			}
			continue
		}
		if err != nil || l.volume != tc.wantVol || l.logDir != tc.wantLogs {
			t.Errorf("%s: %+v %v, want %s and %s", tc.name, l, err, tc.wantVol, tc.wantLogs)
		}
	}
}
