package untar

import (
	"io"
	"sync"
	_ "unsafe" // go:linkname

	"github.com/containers/storage/pkg/archive"

	// The overlay driver must be linked in for overlayUntar to name its
	// variable (and initialised before Install runs).
	_ "github.com/containers/storage/drivers/overlay"
)

// overlayUntar is the overlay driver's package variable through which its
// ApplyDiff unpacks a layer (drivers/overlay/overlay.go:
// `var untar = chrootarchive.UntarUncompressed`, storage v1.59.1). It is not
// exported, hence the linkname. Should a storage upgrade rename it, this
// still links (the linker then makes a variable of its own) and overlay
// silently goes back to the re-exec: TestOverlayUsesInProcessUntar fails.
//
//go:linkname overlayUntar github.com/containers/storage/drivers/overlay.untar
var overlayUntar func(io.Reader, string, *archive.TarOptions) error

var installOnce sync.Once

// Install makes the overlay driver unpack layers with UntarUncompressed.
// The vfs driver (and overlay's naive-diff path, taken only for a layer
// whose parent is not its lower layer) keep containers/storage's
// re-exec'd applyLayer: it sets TMPDIR process-wide for AUFS hard-link
// whiteouts, which an in-process unpack cannot do per thread.
func Install() {
	installOnce.Do(func() { overlayUntar = UntarUncompressed })
}
