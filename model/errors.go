package model

import "errors"

// Sentinel errors: code that refuses a request wraps one of them
// (fmt.Errorf("%w: ...")) and the D-Bus server sends the matching error
// name (org.rockon.rockon1.Error.NoSuchRockOn, ...); its client turns the
// name back into an error that matches the same sentinel with errors.Is.
var (
	ErrNoSuchRockOn     = errors.New("no such rock-on")
	ErrNotInstalled     = errors.New("rock-on not installed")
	ErrAlreadyInstalled = errors.New("rock-on already installed")
	ErrPortInUse        = errors.New("port in use")
	ErrInvalidArgs      = errors.New("invalid arguments")
	ErrAccessDenied     = errors.New("access denied")
	ErrBusy             = errors.New("rock-on busy")
	ErrFailed           = errors.New("operation failed")
)
