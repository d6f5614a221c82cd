// Package console serves the technician console: a few static files (HTML, CSS and
// JavaScript modules, no build step) embedded in the binary, plus a generated config.js
// that tells the page how technicians sign in. The `invitation` function serves it for
// every path outside /v1/, so the console and the API share one origin and the API needs
// no CORS. Every answer carries a strict Content-Security-Policy: scripts only from this
// origin, no inline script or style, fetches only to this origin (and, in AWS mode, to
// the Cognito domain for the token exchange), WebSockets only to the live channel.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Mode says how technicians sign in.
type Mode int

const (
	// Local is `make run` and the tests: a dev sign-in form that asks the local gateway
	// for a token (POST /v1/dev/token). Every page says that it is local mode.
	Local Mode = iota + 1
	// AWS signs in through the Cognito hosted UI (authorization code flow with PKCE).
	AWS
)

func (m Mode) String() string {
	switch m {
	case Local:
		return "local"
	case AWS:
		return "aws"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Config is what the page needs to know beyond its static files.
type Config struct {
	// CognitoDomain is the base URL of the user pool's hosted UI, for example
	// "https://auth.example.com" or "https://<prefix>.auth.<region>.amazoncognito.com".
	// AWS mode only. It must be https, except on a loopback host (tests).
	CognitoDomain string
	// ClientID is the user pool app client (public, no secret: the page cannot keep one).
	ClientID string
	// RedirectURI is where the hosted UI sends the technician back; it must be one of the
	// app client's callback URLs. "" = the console's own root ("<origin>/"), which is the
	// stack's default callback and also right behind a custom domain.
	RedirectURI string
	// LogoutURI is where the hosted UI's logout sends the technician; "" = the redirect
	// URI. It must be one of the app client's sign-out URLs.
	LogoutURI string
	// HiddenUsername is the hidden account's name on the PC; a password must not contain
	// it. "" = session.DefaultUsername. Set it to the service's configured name.
	HiddenUsername string
	// SessionTTL is how long an active session lasts, for the page's texts ("you reach the
	// PC for 24 hours"). 0 = the product default. Set it to the service's configured length.
	SessionTTL time.Duration
	// LiveURL is the live channel (the WebSocket API's stage URL, wss://…; locally
	// ws://localhost:8080/live), the same URL the service hands out in tickets. Only its
	// origin matters here: the CSP admits WebSockets to it. "" = no live channel beyond
	// 'self' (CSP Level 3 lets 'self' match ws: on the page's own host and port); the page
	// then polls.
	LiveURL string
}

// ConfigFromEnv reads the console's settings from the environment (nil getenv reads
// nothing): the CDK stack sets the Cognito domain and the client id on the invitation
// function; the redirect and logout URIs are optional; the hidden user name and the live
// URL are the service's own variables (internal/setup reads them for the service).
// Check the result with Validate.
func ConfigFromEnv(getenv func(string) string) Config {
	if getenv == nil {
		return Config{}
	}
	return Config{
		CognitoDomain:  getenv(deploy.EnvAuthBaseURL),
		ClientID:       getenv(deploy.EnvUserPoolClient),
		RedirectURI:    getenv(deploy.EnvConsoleRedirect),
		LogoutURI:      getenv(deploy.EnvConsoleLogout),
		HiddenUsername: getenv(deploy.EnvHiddenUsername),
		LiveURL:        getenv(deploy.EnvLiveURL),
	}
}

// Validate reports what is wrong with the settings for the mode. Handler serves an error
// page for every request when they are wrong; call Validate at start to fail early.
func (c Config) Validate(mode Mode) error {
	if mode != Local && mode != AWS {
		return fmt.Errorf("console: unknown mode %d", int(mode))
	}
	if strings.ContainsAny(c.HiddenUsername, "\"\\\x00\r\n") || len(c.HiddenUsername) > 20 {
		return errors.New("console: the hidden user name must have at most 20 plain characters")
	}
	if c.LiveURL != "" {
		if _, err := liveOrigin(mode, c.LiveURL); err != nil {
			return fmt.Errorf("console: %w", err)
		}
	}
	if mode == Local {
		return nil
	}
	var errs []error
	if err := checkURL("cognito domain", c.CognitoDomain, true); err != nil {
		errs = append(errs, err)
	}
	if c.ClientID == "" || strings.ContainsFunc(c.ClientID, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		errs = append(errs, errors.New("client id: want letters, digits, - and _"))
	}
	if c.RedirectURI != "" {
		if err := checkURL("redirect URI", c.RedirectURI, false); err != nil {
			errs = append(errs, err)
		}
	}
	if c.LogoutURI != "" {
		if err := checkURL("logout URI", c.LogoutURI, false); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("console: AWS mode: %w", errors.Join(errs...))
	}
	return nil
}

// checkURL accepts an absolute https URL (http only on a loopback host). An origin must
// have no path, query or fragment, because it goes into the CSP header as a source.
func checkURL(what, raw string, origin bool) error {
	u, err := url.Parse(raw)
	if err != nil || raw == "" || u.Host == "" || u.User != nil || u.Fragment != "" || strings.ContainsAny(raw, " ;,'\"\r\n") {
		return fmt.Errorf("%s %q: want an absolute https URL", what, raw)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
		return fmt.Errorf("%s %q: must use https", what, raw)
	}
	if origin && (strings.Trim(u.Path, "/") != "" || u.RawQuery != "") {
		return fmt.Errorf("%s %q: want only scheme and host, no path", what, raw)
	}
	return nil
}

// liveOrigin is the CSP source of the live channel: scheme, host and port of its URL.
// wss always; ws only in local mode or on a loopback host (tests), because a WebSocket
// carries the same data as the API.
func liveOrigin(mode Mode, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || strings.ContainsAny(raw, " ;,'\"\r\n*") {
		return "", fmt.Errorf("live URL %q: want an absolute wss:// URL", raw)
	}
	switch {
	case u.Scheme == "wss":
	case u.Scheme == "ws" && (mode == Local || loopback(u.Hostname())):
	default:
		return "", fmt.Errorf("live URL %q: must use wss", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

//go:embed static
var static embed.FS

// file is one answer the console can give.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// contentTypes are the types of the console's files, by extension. A table of its own,
// not the mime package's: the system's MIME table differs between machines (a module
// script with the wrong type does not run), and loading it costs every start of the
// invitation function a millisecond or more.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8", // the vendored ES modules (static/vendor)
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/vnd.microsoft.icon",
	".json":  "application/json",
	".txt":   "text/plain; charset=utf-8",
	".woff2": "font/woff2",
}

func newFile(name string, body []byte) file {
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	return file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// pageConfig is what config.js exports.
type pageConfig struct {
	Mode           string         `json:"mode"`
	HiddenUsername string         `json:"hiddenUsername"`
	SessionSeconds int64          `json:"sessionSeconds"`
	Cognito        *cognitoConfig `json:"cognito,omitempty"`
}

type cognitoConfig struct {
	Domain      string `json:"domain"`
	ClientID    string `json:"clientId"`
	RedirectURI string `json:"redirectUri,omitempty"` // "" = the page's origin + "/"
	LogoutURI   string `json:"logoutUri,omitempty"`
	Scopes      string `json:"scopes"`
}

type handler struct {
	headers map[string]string
	broken  error
	// The files are read, hashed and indexed at the first request rather than at start:
	// most cold starts of the invitation function serve an API call, and this keeps
	// the files' ~0.2 ms out of their init (docs/cost.md, section 5).
	load  sync.Once
	files map[string]file // by URL path
	page  pageConfig      // what config.js exports
}

// Handler serves the console: "/" is the page, "/console/..." its assets, and
// "/console/config.js" the settings for the mode. Anything else is 404.
func Handler(mode Mode, cfg Config) http.Handler {
	h := &handler{}
	if err := cfg.Validate(mode); err != nil {
		h.broken = err
		h.headers = securityHeaders(mode)
		return h
	}
	if cfg.HiddenUsername == "" {
		cfg.HiddenUsername = session.DefaultUsername
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = support.Defaults().SessionTTL
	}
	pc := pageConfig{Mode: mode.String(), HiddenUsername: cfg.HiddenUsername, SessionSeconds: int64(cfg.SessionTTL / time.Second)}
	var connect []string // origins beyond 'self' that the page may connect to
	if mode == AWS {
		origin := strings.TrimRight(cfg.CognitoDomain, "/")
		connect = append(connect, origin)
		logout := cfg.LogoutURI
		if logout == "" {
			logout = cfg.RedirectURI
		}
		pc.Cognito = &cognitoConfig{
			Domain: origin, ClientID: cfg.ClientID, RedirectURI: cfg.RedirectURI,
			LogoutURI: logout, Scopes: "openid email profile",
		}
	}
	if cfg.LiveURL != "" {
		live, _ := liveOrigin(mode, cfg.LiveURL) // checked by Validate
		connect = append(connect, live)
	}
	h.headers = securityHeaders(mode, connect...)
	h.page = pc
	return h
}

// loadFiles indexes the embedded files and the generated config.js by URL path.
func (h *handler) loadFiles() {
	h.files = map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		urlPath := strings.TrimPrefix(p, "static")
		if urlPath == "/index.html" {
			urlPath = "/"
		}
		h.files[urlPath] = newFile(p, body)
		return nil
	})
	if err != nil {
		// The files are compiled in; failing to read them is a build defect.
		panic(fmt.Sprintf("console: embedded files: %v", err))
	}
	js, err := json.Marshal(h.page)
	if err != nil {
		panic(fmt.Sprintf("console: config: %v", err))
	}
	h.files["/console/config.js"] = newFile("config.js", []byte("// Generated by the server for this deployment.\nexport default "+string(js)+";\n"))
}

// securityHeaders go on every answer of the console. connect are the origins beyond
// 'self' the page may reach: the live channel's, and in AWS mode the Cognito domain's.
func securityHeaders(mode Mode, connect ...string) map[string]string {
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self'",
		"connect-src " + strings.Join(append([]string{"'self'"}, connect...), " "),
		"base-uri 'none'",
		// The forms are handled by script; without it nothing may be submitted anywhere,
		// so a password can never end up in a URL.
		"form-action 'none'",
		"frame-ancestors 'none'",
		"require-trusted-types-for 'script'",
		"trusted-types 'none'",
	}, "; ")
	h := map[string]string{
		"Content-Security-Policy":      csp,
		"X-Frame-Options":              "DENY",
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "no-referrer",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
		"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
	}
	if mode == AWS {
		h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range h.headers {
		w.Header().Set(k, v)
	}
	if h.broken != nil {
		// Say so plainly: a console that cannot sign anyone in is a deployment error.
		http.Error(w, "The console is not configured correctly: "+h.broken.Error(), http.StatusInternalServerError)
		return
	}
	h.load.Do(h.loadFiles)
	f, ok := h.files[r.URL.Path]
	if !ok {
		http.Error(w, "Not found.", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	// Revalidate every time: the file names carry no version, and a deployment must
	// reach every technician at once.
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", f.etag)
	if etagMatch(r.Header.Get("If-None-Match"), f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Content-Length", fmt.Sprint(len(f.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = bytes.NewReader(f.body).WriteTo(w)
	}
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
