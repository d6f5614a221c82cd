package gateway

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The local gateway has no authentication of its own on /v1/dev/*: anyone who reaches it can
// mint an administrator's token. It listens on loopback, but a web page the developer opens
// can still reach it through the browser: by DNS rebinding (its own host name resolving to
// 127.0.0.1, so the browser sends that name as Host and treats the answers as same-origin),
// or by a cross-origin form post. So every request must name a loopback host of the
// gateway's own port, a state-changing request that carries an Origin must come from such an
// origin, and the dev routes take only application/json, which no form can send without a
// CORS preflight this gateway never grants.

// loopbackHost reports whether host (without port) names this machine: localhost, a name
// under .localhost (RFC 6761), or a loopback address.
func loopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// ownPort is the port the request's connection arrived on, "" when unknown (a handler
// called without a server, as in unit tests of the routes).
func ownPort(r *http.Request) string {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return ""
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return ""
	}
	return strconv.Itoa(tcp.Port)
}

// allowedHostPort: a loopback host with the gateway's own port (browsers always send a
// non-default port in Host and Origin).
func allowedHostPort(hostport, port string) bool {
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	return loopbackHost(host) && (port == "" || p == port)
}

// stateChanging: what a page must not do across origins; a WebSocket handshake too, as the
// browser does not apply the same-origin policy to it.
func stateChanging(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
	}
	return true
}

// guard answers a request the gateway must not serve and reports whether it did.
func guard(w http.ResponseWriter, r *http.Request) bool {
	port := ownPort(r)
	if !allowedHostPort(r.Host, port) {
		writeProblem(w, http.StatusForbidden, "forbidden_host",
			"The local gateway answers only requests to localhost or a loopback address on its own port.")
		return true
	}
	if origin := r.Header.Get("Origin"); origin != "" && stateChanging(r) {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss") || u.Path != "" || !allowedHostPort(u.Host, port) {
			writeProblem(w, http.StatusForbidden, "forbidden_origin",
				"The local gateway takes state-changing requests from its own pages only.")
			return true
		}
	}
	if strings.HasPrefix(r.URL.Path, "/v1/dev/") && r.Method != http.MethodGet && r.Method != http.MethodHead {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			writeProblem(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
				"The dev routes take a JSON body: send Content-Type: application/json.")
			return true
		}
	}
	return false
}
