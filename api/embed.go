// Package api holds the OpenAPI 3.1 document of the HTTP API, compiled into the binaries
// and tests that check answers against it (internal/apidoc).
package api

import _ "embed"

// OpenAPI is api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
