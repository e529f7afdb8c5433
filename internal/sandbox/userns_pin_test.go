package sandbox

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPinInUserns creates a pod's namespaces inside a new user namespace
// (through the re-exec'd holder: no pause binary sits beside a test
// binary) and checks that the user namespace owns them and the hostname
// was set in the pinned UTS namespace.
func TestPinInUserns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	u := &Userns{UIDs: []IDMap{{HostID: 300000, Size: 65536}}, GIDs: []IDMap{{HostID: 300000, Size: 65536}}}
	paths, err := Pin(PinRequest{Dir: dir, Name: "pod", Kinds: []NS{NetNS, UTSNS, IPCNS}, Hostname: "in-userns", Userns: u})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := Unpin(paths); err != nil {
			t.Error(err)
		}
	}()
	var userSt unix.Stat_t
	if err := unix.Stat(paths[UserNS], &userSt); err != nil {
		t.Fatalf("user namespace not pinned: %v (%v)", err, paths)
	}
	for _, k := range []NS{NetNS, UTSNS, IPCNS} {
		fd, err := unix.Open(paths[k], unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		owner, err := unix.IoctlRetInt(fd, unix.NS_GET_USERNS)
		unix.Close(fd)
		if err != nil {
			t.Fatalf("%s: owner: %v", k, err)
		}
		var st unix.Stat_t
		_ = unix.Fstat(owner, &st)
		unix.Close(owner)
		if st.Ino != userSt.Ino || st.Dev != userSt.Dev {
			t.Errorf("%s namespace is not owned by the pod's user namespace", k)
		}
	}
	host := make(chan string, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is thrown away
		if err := setnsPath(paths[UTSNS], unix.CLONE_NEWUTS); err != nil {
			host <- err.Error()
			return
		}
		h, _ := os.Hostname()
		host <- h
	}()
	if h := <-host; h != "in-userns" {
		t.Errorf("hostname in the pinned UTS namespace: %q", h)
	}
}
