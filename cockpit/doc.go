// Package cockpit holds the "Rock-ons" Cockpit application (the JavaScript
// under src/, built with npm and esbuild into dist/) and, in its tests, the
// harness that serves it from real cockpit-ws and cockpit-bridge in the
// sandbox and drives it with a headless chromium.
package cockpit
