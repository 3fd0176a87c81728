package main

import (
	"errors"
	"fmt"
)

// Exit codes. They are part of the command's interface: scripts branch on
// them, so they never change meaning. The README's Usage section and the
// package documentation list the same table.
const (
	exitOK          = 0 // success
	exitFailed      = 1 // the operation was tried and failed
	exitUsage       = 2 // bad command line, or choices the daemon refuses
	exitNotFound    = 3 // no such rock-on, container or file
	exitDenied      = 4 // the caller may not do this (not root, polkit said no)
	exitUnreachable = 5 // rockond is not running or the bus cannot be reached
	exitBusy        = 6 // another operation on the same rock-on is running
)

// exitError carries the exit code of a failure together with the one line
// printed for it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode gives err an exit code; nil stays nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func usageErrorf(format string, a ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, a...))
}

func notFoundErrorf(format string, a ...any) error {
	return withCode(exitNotFound, fmt.Errorf(format, a...))
}

// exitCode is the code for err: the one it carries, or exitFailed.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailed
}
