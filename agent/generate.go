package main

// The .syso files next to this file carry the app's manifest (requireAdministrator),
// version information and icon; go build embeds the one for the target architecture.
// Regenerate them after changing winres/ (also: make agent-resources):
//go:generate go run github.com/tc-hib/go-winres@v0.3.3 make --in winres/winres.json --arch amd64,arm64 --out rsrc
