// Package cleanup is the undo stack of a multi-step create: each step that
// made something pushes how to unmake it, and on failure the steps are
// undone newest first, so a create that failed half way leaves nothing.
package cleanup

// Stack holds undo steps. The zero value is ready to use.
type Stack struct{ steps []func() }

// Push adds the undo of a step that just succeeded.
func (s *Stack) Push(undo func()) { s.steps = append(s.steps, undo) }

// Run undoes every pushed step, newest first, and empties the stack.
func (s *Stack) Run() {
	for i := len(s.steps) - 1; i >= 0; i-- {
		s.steps[i]()
	}
	s.steps = nil
}

// OnError runs the stack if *errp holds an error; defer it with the
// function's named error result.
func (s *Stack) OnError(errp *error) {
	if *errp != nil {
		s.Run()
	}
}
