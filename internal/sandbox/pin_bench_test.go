package sandbox

import (
	"fmt"
	"os"
	"testing"
)

// BenchmarkPin measures namespace creation and pinning (root only).
func BenchmarkPin(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	dir := b.TempDir()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprint(i)
		paths, err := Pin(PinRequest{Dir: dir, Name: name, Kinds: []NS{NetNS, UTSNS, IPCNS}, Hostname: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := Unpin(paths); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
