package server

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCreationsStalledAt(t *testing.T) {
	var cs creations
	taken := status.Error(codes.AlreadyExists, "name taken")
	first, endFirst := cs.begin("pod/a", "sandbox creating")
	first.set(podStageAfter("namespaces"))
	second, endSecond := cs.begin("pod/a", "sandbox creating")
	// The repeat is refused while the first runs: counted at its stage.
	if stage, ok := cs.stalledAt("pod/a", second, taken); !ok || stage != "sandbox network creation" {
		t.Errorf("stalledAt = %q, %v", stage, ok)
	}
	if _, ok := cs.stalledAt("pod/a", second, errors.New("other failure")); ok {
		t.Error("a failure other than AlreadyExists counted")
	}
	if _, ok := cs.stalledAt("pod/a", first, taken); ok {
		t.Error("a request counted against its own creation")
	}
	endSecond() // the repeat's end must not forget the first
	if _, ok := cs.stalledAt("pod/a", second, taken); !ok {
		t.Error("the first creation was forgotten by the repeat's end")
	}
	endFirst()
	// The name taken by a finished pod is not a stall.
	third, endThird := cs.begin("pod/a", "sandbox creating")
	defer endThird()
	if _, ok := cs.stalledAt("pod/a", third, taken); ok {
		t.Error("a finished creation counted")
	}
}
