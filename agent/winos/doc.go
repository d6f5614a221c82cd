// Package winos is the Support Session app's Windows layer: it implements app.OS with
// netapi32 (accounts), the registry, the service control manager, the event log and the
// file system, and finds the system's proxy settings and display language. All code is in
// _windows.go files; on other systems the package is empty.
package winos
