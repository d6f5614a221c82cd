// Package api holds the OpenAPI 3.1 document of the HTTP API and the AsyncAPI 3.0 document
// of the live channel, compiled into the tests that check answers and messages against
// them (internal/testing/apidoc).
package api

import _ "embed"

// OpenAPI is api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// AsyncAPI is api/asyncapi.yaml, the live channel's messages.
//
//go:embed asyncapi.yaml
var AsyncAPI []byte
