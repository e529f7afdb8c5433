package integration

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/crio-runtime/crio/internal/streaming/client"
	"github.com/crio-runtime/crio/internal/syncbuf"
	"github.com/crio-runtime/crio/test/framework"
	"github.com/crio-runtime/crio/test/registry"
)

func (e *env) execURL(t *testing.T, req *runtimeapi.ExecRequest) string {
	t.Helper()
	resp, err := e.d.Runtime.Exec(framework.Ctx(t), req)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	return resp.Url
}

func TestExecStreams(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "exec")
	id := e.create(t, podID, podCfg, "target", "sleep", "3600")
	e.start(t, id)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// stdin round trip, stdout and stderr apart, exit code propagated.
	url := e.execURL(t, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh", "-c", "cat; echo to-err >&2; exit 4"}, Stdin: true, Stdout: true, Stderr: true})
	var out, errOut syncbuf.Buffer
	code, err := client.Run(ctx, url, nil, client.Options{Stdin: strings.NewReader("ping\n"), Stdout: &out, Stderr: &errOut})
	if err != nil || code != 4 || out.String() != "ping\n" || errOut.String() != "to-err\n" {
		t.Errorf("exec: code %d err %v out %q err %q", code, err, out.String(), errOut.String())
	}

	// A background process keeping stdout open does not hold the session.
	url = e.execURL(t, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh", "-c", "sleep 600 & echo started"}, Stdout: true})
	out = syncbuf.Buffer{}
	bctx, bcancel := context.WithTimeout(ctx, 30*time.Second)
	code, err = client.Run(bctx, url, nil, client.Options{Stdout: &out})
	bcancel()
	if err != nil || code != 0 || out.String() != "started\n" {
		t.Errorf("exec leaving a background process: code %d err %v out %q", code, err, out.String())
	}

	// tty: resize reaches the process.
	url = e.execURL(t, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh", "-c", "sleep 0.5; stty size"}, Stdout: true, Tty: true})
	sizes := make(chan client.TerminalSize, 1)
	sizes <- client.TerminalSize{Width: 123, Height: 45}
	out = syncbuf.Buffer{}
	code, err = client.Run(ctx, url, nil, client.Options{Stdout: &out, TTY: true, Resize: sizes})
	if err != nil || code != 0 || !strings.Contains(out.String(), "45 123") {
		t.Errorf("tty exec: code %d err %v out %q", code, err, out.String())
	}

	// A URL is single use.
	url = e.execURL(t, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"true"}, Stdout: true})
	if _, err := client.Run(ctx, url, nil, client.Options{Stdout: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Run(ctx, url, nil, client.Options{Stdout: io.Discard}); err == nil {
		t.Error("a used exec URL was accepted again")
	}
}

func TestAttach(t *testing.T) {
	e := newEnv(t, registry.Image{})
	podID, podCfg := e.pod(t, "attach")
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "echoer"},
		Command:  []string{"sh", "-c", "while read l; do echo got:$l; done"},
		Stdin:    true,
	}
	id := e.createWith(t, podID, podCfg, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := e.d.Runtime.Attach(framework.Ctx(t), &runtimeapi.AttachRequest{ContainerId: id, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	var out syncbuf.Buffer
	done := make(chan error, 1)
	actx, detach := context.WithCancel(ctx)
	go func() {
		_, err := client.Run(actx, resp.Url, nil, client.Options{Stdin: pr, Stdout: &out, Stderr: io.Discard})
		done <- err
	}()
	_, _ = io.WriteString(pw, "hello\n")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "got:hello") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "got:hello") {
		t.Fatalf("attach output: %q", out.String())
	}
	detach() // the client goes away; the container must not notice
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("attach did not end after the client detached")
	}
	pw.Close()
	if st := e.status(t, id); st.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Errorf("detaching stopped the container: %+v", st)
	}
}
