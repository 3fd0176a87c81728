// Package model holds the words every layer of rockon shares: the user's
// install choices with their one codec (the install-config TOML file and
// the D-Bus a{sv} form), the slug rule that names units, the kinds of
// operation, the sentinel errors, the read views the API serves and the
// host's layout the compiler needs (Host).
//
// It is a leaf: it imports no other package of rockon, so catalog,
// unitgen, state, daemon, dbus and the commands can all use it without
// one depending on another for a shared word. Nothing here touches the
// system.
package model
