package cleanup

import (
	"errors"
	"slices"
	"testing"
)

func TestStackUndoesInReverseOnlyOnError(t *testing.T) {
	var got []int
	run := func(fail bool) (retErr error) {
		var s Stack
		defer s.OnError(&retErr)
		for i := range 3 {
			s.Push(func() { got = append(got, i) })
		}
		if fail {
			return errors.New("step 4 failed")
		}
		return nil
	}
	_ = run(false)
	if len(got) != 0 {
		t.Fatalf("undo ran after success: %v", got)
	}
	_ = run(true)
	if !slices.Equal(got, []int{2, 1, 0}) {
		t.Fatalf("undo order %v, want [2 1 0]", got)
	}
}
