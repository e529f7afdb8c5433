package errdefs

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// grpcGlue may import gRPC's status and codes: it is gRPC plumbing, not a
// domain package.
var grpcGlue = map[string]string{
	"internal/metrics":       "its interceptors label requests by gRPC code",
	"internal/observability": "hands the metrics the code server answers",
}

// TestDomainPackagesReturnKinds keeps gRPC codes out of the domain: a
// package under internal/ or pkg/ reports a kind (this package) and only
// server maps it to a code.
func TestDomainPackagesReturnKinds(t *testing.T) {
	root := filepath.Join("..", "..")
	var bad []string
	for _, dir := range []string{"internal", "pkg"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if grpcGlue[rel] != "" || grpcGlue[filepath.ToSlash(filepath.Dir(rel))] != "" {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if path == "google.golang.org/grpc/status" || path == "google.golang.org/grpc/codes" {
					bad = append(bad, rel+" imports "+path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(bad) > 0 {
		t.Errorf("domain code makes gRPC codes (return an errdefs kind instead):\n%s", strings.Join(bad, "\n"))
	}
}
