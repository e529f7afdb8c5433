package spec

import (
	"slices"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestCommandLine(t *testing.T) {
	ep, cmd := []string{"/entry", "-x"}, []string{"serve", "--port=80"}
	tests := []struct {
		name               string
		command, args      []string
		entrypoint, imgCmd []string
		want               []string
		wantErr            bool
	}{
		{"image only", nil, nil, ep, cmd, []string{"/entry", "-x", "serve", "--port=80"}, false},
		{"image cmd only", nil, nil, nil, cmd, cmd, false},
		{"command replaces entrypoint and drops cmd", []string{"/bin/sh"}, nil, ep, cmd, []string{"/bin/sh"}, false},
		{"command and args", []string{"/bin/sh"}, []string{"-c", "true"}, ep, cmd, []string{"/bin/sh", "-c", "true"}, false},
		{"args replace cmd only", nil, []string{"other"}, ep, cmd, []string{"/entry", "-x", "other"}, false},
		{"args without entrypoint", nil, []string{"/bin/echo", "hi"}, nil, cmd, []string{"/bin/echo", "hi"}, false},
		{"nothing at all", nil, nil, nil, nil, nil, true},
		{"empty command string", []string{""}, nil, nil, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Config.Command, in.Config.Args = tt.command, tt.args
			in.Image.Entrypoint, in.Image.Cmd = tt.entrypoint, tt.imgCmd
			res, err := Build(in)
			if tt.wantErr {
				checkErr(t, err, "invalid", "command")
				return
			}
			checkErr(t, err, "", "")
			if !slices.Equal(res.Spec.Process.Args, tt.want) {
				t.Fatalf("args %q, want %q", res.Spec.Process.Args, tt.want)
			}
		})
	}
}

func kv(k, v string) *runtimeapi.KeyValue { return &runtimeapi.KeyValue{Key: k, Value: []byte(v)} }

func TestEnv(t *testing.T) {
	tests := []struct {
		name     string
		image    []string
		defaults []string
		cri      []*runtimeapi.KeyValue
		want     []string
		errField string
	}{
		{
			name:  "order kept, last wins, defaults filled",
			image: []string{"PATH=/bin", "A=1", "B=2"},
			cri:   []*runtimeapi.KeyValue{kv("B", "cri"), kv("C", "3"), kv("A", "x=y")},
			want:  []string{"PATH=/bin", "A=x=y", "B=cri", "C=3", "HOME=/root", "HOSTNAME=pod1"},
		},
		{
			name:     "default_env between image and CRI",
			image:    []string{"A=img"},
			defaults: []string{"A=def", "D=def"},
			cri:      []*runtimeapi.KeyValue{kv("D", "cri")},
			want:     []string{"A=def", "D=cri", "PATH=" + DefaultPath, "HOME=/root", "HOSTNAME=pod1"},
		},
		{
			name: "CRI HOME and HOSTNAME are not overridden",
			cri:  []*runtimeapi.KeyValue{kv("HOME", "/h"), kv("HOSTNAME", "x"), kv("EMPTY", "")},
			want: []string{"HOME=/h", "HOSTNAME=x", "EMPTY=", "PATH=" + DefaultPath},
		},
		{name: "empty key", cri: []*runtimeapi.KeyValue{kv("", "v")}, errField: "envs[0].key"},
		{name: "key with =", cri: []*runtimeapi.KeyValue{kv("A", "1"), kv("B=C", "v")}, errField: "envs[1].key"},
		{name: "value with NUL", cri: []*runtimeapi.KeyValue{kv("A", "a\x00b")}, errField: "envs[0].value"},
		{name: "bad default_env", defaults: []string{"NOEQUALS"}, errField: "default_env[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Passwd = passwdFile()
			in.Image.Env, in.Runtime.DefaultEnv, in.Config.Envs = tt.image, tt.defaults, tt.cri
			res, err := Build(in)
			if tt.errField != "" {
				checkErr(t, err, "invalid", tt.errField)
				return
			}
			checkErr(t, err, "", "")
			if !slices.Equal(res.Spec.Process.Env, tt.want) {
				t.Fatalf("env %q, want %q", res.Spec.Process.Env, tt.want)
			}
		})
	}
}

func TestWorkingDirTTYAndAnnotations(t *testing.T) {
	tests := []struct {
		name, cri, image, want, errField string
	}{
		{name: "default", want: "/"},
		{name: "image", image: "/srv", want: "/srv"},
		{name: "CRI over image", cri: "/work/", image: "/srv", want: "/work"},
		{name: "relative CRI", cri: "work", errField: "working_dir"},
		{name: "relative image", image: "srv", errField: "image working dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Config.WorkingDir, in.Image.WorkingDir = tt.cri, tt.image
			res, err := Build(in)
			if tt.errField != "" {
				checkErr(t, err, "invalid", tt.errField)
				return
			}
			checkErr(t, err, "", "")
			if res.Spec.Process.Cwd != tt.want {
				t.Fatalf("cwd %q, want %q", res.Spec.Process.Cwd, tt.want)
			}
		})
	}
	in := baseInput()
	in.Config.Tty, in.Config.Stdin, in.Config.StdinOnce = true, true, true
	in.Config.Annotations = map[string]string{"io.kubernetes.x": "y"}
	s := build(t, in).Spec
	if !s.Process.Terminal || s.Annotations[AnnotationStdin] != "true" || s.Annotations[AnnotationStdinOnce] != "true" || s.Annotations["io.kubernetes.x"] != "y" {
		t.Fatalf("terminal %v annotations %v", s.Process.Terminal, s.Annotations)
	}
	if s.Process.NoNewPrivileges {
		t.Fatal("no_new_privs set without being asked")
	}
	sc(&in).NoNewPrivs = true
	if !build(t, in).Spec.Process.NoNewPrivileges {
		t.Fatal("no_new_privs not set")
	}
}

func TestUlimits(t *testing.T) {
	in := baseInput()
	in.Runtime.DefaultUlimits = []string{"nofile=1024:2048", "nofile=4096:8192", "core=0"}
	rl := build(t, in).Spec.Process.Rlimits
	if len(rl) != 2 || rl[0].Type != "RLIMIT_NOFILE" || rl[0].Soft != 4096 || rl[1].Type != "RLIMIT_CORE" {
		t.Fatalf("rlimits %+v", rl)
	}
	in.Runtime.DefaultUlimits = []string{"nofile=1:0"}
	_, err := Build(in)
	checkErr(t, err, "invalid", "default_ulimits[0]")
}

func TestStopSignal(t *testing.T) {
	tests := []struct {
		cri         runtimeapi.Signal
		image, want string
		wantErr     bool
	}{
		{runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT, "", "SIGTERM", false},
		{runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT, "SIGQUIT", "SIGQUIT", false},
		{runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT, "int", "SIGINT", false},
		{runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT, "9", "SIGKILL", false},
		{runtimeapi.Signal_SIGNAL_SIGUSR1, "SIGQUIT", "SIGUSR1", false},
		{runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT, "SIGNOPE", "", true},
	}
	for _, tt := range tests {
		in := baseInput()
		in.Config.StopSignal, in.Image.StopSignal = tt.cri, tt.image
		res, err := Build(in)
		if tt.wantErr {
			checkErr(t, err, "invalid", "stop signal")
			continue
		}
		checkErr(t, err, "", "")
		if res.StopSignal != tt.want {
			t.Errorf("%v/%q: got %q want %q", tt.cri, tt.image, res.StopSignal, tt.want)
		}
	}
}

func TestBuildRequiredInput(t *testing.T) {
	in := baseInput()
	in.Config = nil
	_, err := Build(in)
	checkErr(t, err, "invalid", "config")
	in = baseInput()
	in.RootfsPath = "rootfs"
	_, err = Build(in)
	checkErr(t, err, "invalid", "rootfs")
	in = baseInput()
	in.ContainerID = ""
	_, err = Build(in)
	checkErr(t, err, "invalid", "container_id")
	// Nil sub-structures (crictl-minimal configs) still build.
	in = Input{ContainerID: "x", RootfsPath: "/r", Config: &runtimeapi.ContainerConfig{Command: []string{"/bin/true"}}}
	s := build(t, in).Spec
	if s.Linux.CgroupsPath != "/crio-x" || s.Linux.Seccomp != nil {
		t.Fatalf("cgroups %q seccomp %v", s.Linux.CgroupsPath, s.Linux.Seccomp)
	}
}
