// Package state keeps rockon's persistent state in TOML files: the daemon
// configuration (Config, /etc/rockon/rockond.toml) and one record per
// installed rock-on (Installed, kept by a Store in /var/lib/rockon).
// There is no database; these files are the truth, and an administrator
// can read and back them up.
//
// # Files
//
//	/etc/rockon/rockond.toml      Config; every key optional (DefaultConfig)
//	/var/lib/rockon/              Store directory, mode 0700, flock'ed by the daemon
//	/var/lib/rockon/<slug>.toml   one Installed record, mode 0600
//	/var/lib/rockon/<slug>.toml.broken-<time>   a record moved aside by Quarantine
//	/var/lib/rockon/env/          env files of the units (written with WriteFileAtomic, 0600)
//
// Records hold env values, so they are root-only: Store sets the modes
// explicitly whatever the umask.
//
// # Writes
//
// Every write goes through WriteFileAtomic: temporary file in the same
// directory, fsync, rename, fsync of the directory. A crash at any instant
// leaves the old or the new file, plus possibly a temporary file
// (".<name>.rockon-tmp-<random>") that Open removes. Writes to one rock-on
// are serialized by a per-rock-on mutex; Update holds it across a
// read-modify-write. Open takes an exclusive flock on the directory, so a
// second daemon on the same directory fails with ErrLocked instead of
// interleaving writes. Reads take no lock.
//
// # Bad files
//
// A record that cannot be read (syntax error, unknown key, wrong type,
// invalid value, empty file, newer schema) is reported as a *FileError
// (file, line, key, reason) or *SchemaError. List returns the good records
// and one error per bad file, so one bad file never stops the others.
// Save, Update and Delete refuse to replace or remove a bad file
// (ErrUnreadable); the caller resolves it explicitly with Quarantine, which
// renames it aside and keeps its content.
//
// Reading 1,000 records takes about 100 ms of CPU, spread over the cores by
// List: records are decoded strictly by pelletier/go-toml, four times
// faster than BurntSushi/toml, and only a file it refuses is decoded again
// by BurntSushi/toml, the reference, for an error with line and key (see
// decodeInstalled).
//
// # Schema
//
// Every record starts with "schema = N"; this code writes CurrentSchema
// (1). An older file is migrated in memory when read (the migrations map,
// working on the generic TOML tree) and rewritten in the current schema by
// the next Save; Installed.Schema tells which version it was read from. A
// file with a newer schema is refused with a *SchemaError and never
// written: a downgrade cannot destroy what a newer rockon recorded.
//
// # Transactions: the phase field
//
// Installing, updating and uninstalling touch several things (image pulls,
// unit files, env files, systemd); a crash may stop any of them half-way.
// The record's Phase is written before the first side effect, and set to
// PhaseInstalled after the last one, so on start-up the daemon knows what
// was interrupted:
//
//   - PhaseInstalling: Create wrote the record (with the definition and
//     choices) before pulling or writing units. Recovery rolls back: stop
//     and remove the units and env files the record or the slug names, then
//     Delete the record. No debris survives a failed install.
//   - PhaseUpdating: the main fields still describe the previous, working
//     version; Pending holds the new definition and choices (and images
//     once pulled). Recovery either re-applies Pending (roll forward) or
//     regenerates units from the main fields (roll back); both are
//     idempotent because unit files are compared by ContentHash.
//     Committing moves Pending into the main fields, clears it and sets
//     PhaseInstalled in one Save.
//   - PhaseUninstalling: removal was decided; recovery finishes it (stop,
//     remove units and env files, Delete the record).
//   - PhaseInstalled: nothing in flight. At start-up the daemon can still
//     compare the unit files on disk with Units to detect edits or loss.
//
// PhaseSince records when the phase was entered. The Store only enforces
// that the fields agree (Pending exists exactly while updating); the
// daemon implements the recovery.
package state
