// Package cleanup is the undo stack of a multi-step create: each step that
// made something pushes how to unmake it, and on failure the steps are
// undone newest first, so a create that failed half way leaves nothing.
package cleanup

import "context"

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

// Step is one named step of a multi-step create.
type Step struct {
	Name string
	Run  func(context.Context) error
}

// RunSteps runs steps in order until one fails and returns its error.
// after, if not nil, runs after each step that succeeded (to time it, or in
// tests to fail a create after a named step); its error stops the steps.
func RunSteps(ctx context.Context, steps []Step, after func(step string) error) error {
	for _, s := range steps {
		err := s.Run(ctx)
		if err == nil && after != nil {
			err = after(s.Name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
