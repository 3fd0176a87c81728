package model

// What a caller asks rockond to do, as the D-Bus server hands it to the
// daemon: decoded and checked for its form, not yet for its sense.

// Operation is a change a caller asks for.
type Operation struct {
	Kind OpKind
	Name string // rock-on name (or slug)
	// Choices (install, reconfigure), decoded by the server.
	Choices Choices
	Start   bool // install: start once installed
	// RemoveImages (uninstall): also remove the rock-on's images that no
	// other installed rock-on uses, as Rockstor's delete-rockon does.
	RemoveImages bool
	// Purge (uninstall): also remove the named volumes rockon made for
	// the images' VOLUMEs.
	Purge bool
	// Definition (install): the definition JSON to install instead of
	// the catalog's (a restore brings back the version that was
	// installed); it must define Name.
	Definition string
	// DryRun (install): check everything an install checks (choices,
	// host paths, ports, consent, names) and install nothing: Begin
	// returns a nil function when all is well.
	DryRun bool
}

// Report is how a running operation tells its progress (0..1) and step.
type Report func(progress float64, message string)

// OpKind is the kind of an operation: the Kind of a job on the bus and the
// "operation" label of rockon's metrics.
type OpKind string

// Operation kinds.
const (
	OpInstall     OpKind = "install"
	OpUninstall   OpKind = "uninstall"
	OpStart       OpKind = "start"
	OpStop        OpKind = "stop"
	OpRestart     OpKind = "restart"
	OpUpdate      OpKind = "update"      // new images or definition, same settings
	OpReconfigure OpKind = "reconfigure" // new settings
)

// OpKinds lists every operation kind.
var OpKinds = []OpKind{OpInstall, OpUninstall, OpStart, OpStop, OpRestart, OpUpdate, OpReconfigure}
