// Package hardening holds rockon's security and reliability suite: one
// named test for each way rockon could be attacked or could lose data, run
// against the real entry points (catalog.Decode and catalog.Store for what
// comes from the network, unitgen.Compile checked by a real systemd, and
// rockond over the system bus of a sandboxed systemd).
//
// Threat model. rockond runs as root: it writes /etc/systemd/system and
// /var/lib/rockon and runs the container engine, so whoever controls what it
// writes or runs owns the host.
//
//   - root may do anything, directly or through rockond; rockon only has to
//     keep root from doing damage by mistake (bad values are refused with
//     the field named, risky privileges need explicit consent, files rockon
//     does not own are never touched).
//   - Unprivileged local users reach rockond over the system bus. They may
//     read (list, status, definitions) but see no secret (env and
//     custom_config values); every change needs root or a polkit
//     authorization, and polkit absent or failing means no. Malformed,
//     unknown or huge calls get an error and the daemon keeps serving; a
//     flood of them leaves its memory bounded and root's calls answered.
//     A user who owns a directory inside a share cannot redirect a volume
//     by a symlink: each start checks the path again.
//   - The remote catalog is untrusted: a definition is data, never
//     directives (argv only, values quoted for systemd or passed in
//     root-only env files); its engine options come from an allow-list and
//     are read exactly as the engines read them, anything reaching beyond
//     the container needs named consent, and other rock-ons' containers and
//     data are never reachable (escape_test.go shows each confirmed escape
//     with the bare engine, then its refusal); a hostile or broken server
//     cannot make rockon lose its last good catalog, hang, or exhaust
//     memory.
//   - The network between rockon and the catalog is untrusted as far as the
//     scheme allows: https is verified and never downgraded to http.
//
// Faults (a missing, hung or failing engine, a read-only or full disk, a
// corrupt state file, SIGKILL at any point) must leave every rock-on either
// as it was or as asked, never half-changed.
//
// The tests that need root boot a systemd sandbox (package sandbox); they
// skip when not root, and fail instead when CI=true.
package hardening
