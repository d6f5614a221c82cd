package console_test

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/console"
)

var awsConfig = console.Config{
	CognitoDomain: "https://adhoc-123.auth.eu-central-1.amazoncognito.com",
	ClientID:      "4abcdefghijklmnopqrstuvwxy",
}

// awsLiveURL is what the stack's WebSocket API stage looks like.
const awsLiveURL = "wss://k3x9w2abcd.execute-api.eu-central-1.amazonaws.com/live"

func serve(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandlerServesFiles(t *testing.T) {
	h := console.Handler(console.Local, console.Config{})
	tests := []struct {
		method, path string
		status       int
		contentType  string
		bodyHas      string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", `<script type="module" src="/console/app.js">`},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/console/app.js", 200, "text/javascript; charset=utf-8", "import"},
		// The page modules app.js routes to, and what they share.
		{"GET", "/console/page.js", 200, "text/javascript; charset=utf-8", "export function follow("},
		{"GET", "/console/parts.js", 200, "text/javascript; charset=utf-8", "export function problemBox("},
		{"GET", "/console/signin.js", 200, "text/javascript; charset=utf-8", "export function pageSignIn("},
		{"GET", "/console/adhoc.js", 200, "text/javascript; charset=utf-8", "export function pageAdhoc("},
		{"GET", "/console/session.js", 200, "text/javascript; charset=utf-8", "export function pageSession("},
		{"GET", "/console/computers.js", 200, "text/javascript; charset=utf-8", "export function pageComputers("},
		{"GET", "/console/account.js", 200, "text/javascript; charset=utf-8", "export function pageAccount("},
		{"GET", "/console/style.css", 200, "text/css; charset=utf-8", ":root"},
		{"GET", "/console/icon.svg", 200, "image/svg+xml", "<svg"},
		{"GET", "/console/config.js", 200, "text/javascript; charset=utf-8", `export default {"mode":"local","hiddenUsername":"AdHocRemoteUser","sessionSeconds":86400};`},
		{"GET", "/index.html", 404, "text/plain; charset=utf-8", "Not found"},
		{"GET", "/console/", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/console/../console.go", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/static/index.html", 404, "text/plain; charset=utf-8", ""},
		{"POST", "/", 405, "text/plain; charset=utf-8", ""},
		{"DELETE", "/console/app.js", 405, "text/plain; charset=utf-8", ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := serve(h, tc.method, tc.path, nil)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if !strings.Contains(w.Body.String(), tc.bodyHas) {
				t.Errorf("body does not contain %q:\n%.300s", tc.bodyHas, w.Body.String())
			}
			if tc.method == "HEAD" && w.Body.Len() != 0 {
				t.Errorf("HEAD answered a body of %d bytes", w.Body.Len())
			}
			if tc.status == 405 && w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
			// The security headers go on every answer, errors too.
			for _, k := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
				if w.Header().Get(k) == "" {
					t.Errorf("missing %s", k)
				}
			}
		})
	}
}

// staticImport is an import declaration's module specifier (the console imports modules
// statically only: `import … from "./x.js";` or `import "./x.js";`).
var staticImport = regexp.MustCompile(`(?m)^import\s+(?:[^;"]*?\sfrom\s+)?"([^"]+)";`)

// TestModulesServed follows the imports from the page's script: every module it reaches
// is served as JavaScript with the CSP, and every module in static/console is reached, so a
// split that leaves a file behind, or names one that is not there, fails here.
func TestModulesServed(t *testing.T) {
	h := console.Handler(console.Local, console.Config{})
	page := serve(h, "GET", "/", nil).Body.String()
	entry := regexp.MustCompile(`<script type="module" src="([^"]+)">`).FindStringSubmatch(page)
	if entry == nil {
		t.Fatalf("the page has no module script:\n%s", page)
	}
	reached := map[string]bool{}
	queue := []string{entry[1]}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if reached[p] {
			continue
		}
		reached[p] = true
		w := serve(h, "GET", p, nil)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" || w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s: status %d, Content-Type %q, CSP %q", p, w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Security-Policy"))
			continue
		}
		for _, m := range staticImport.FindAllStringSubmatch(w.Body.String(), -1) {
			if !strings.HasPrefix(m[1], "./") {
				t.Errorf("%s imports %q: want a path relative to the module", p, m[1])
				continue
			}
			queue = append(queue, path.Join(path.Dir(p), m[1]))
		}
	}
	files, err := os.ReadDir("static/console")
	if err != nil {
		t.Fatal(err)
	}
	var unreached []string
	for _, f := range files {
		if p := "/console/" + f.Name(); path.Ext(p) == ".js" && !reached[p] {
			unreached = append(unreached, p)
		}
	}
	if len(unreached) > 0 {
		t.Errorf("modules no import reaches from %s: %v", entry[1], unreached)
	}
	// config.js is no file: the handler writes it, and auth.js imports it.
	if !reached["/console/config.js"] {
		t.Errorf("/console/config.js not reached; reached %v", slices.Sorted(maps.Keys(reached)))
	}
}

func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		name      string
		mode      console.Mode
		cfg       console.Config
		connect   string
		hsts      bool
		configHas []string
	}{
		{"local", console.Local, console.Config{HiddenUsername: "HelpDeskTemp"}, "connect-src 'self';", false,
			[]string{`"mode":"local"`, `"hiddenUsername":"HelpDeskTemp"`}},
		{"aws", console.AWS, awsConfig, "connect-src 'self' https://adhoc-123.auth.eu-central-1.amazoncognito.com;", true,
			[]string{`"mode":"aws"`, `"domain":"https://adhoc-123.auth.eu-central-1.amazoncognito.com"`, `"clientId":"4abcdefghijklmnopqrstuvwxy"`, `"scopes":"openid email profile"`}},
		{"aws with trailing slash and redirect", console.AWS, console.Config{
			CognitoDomain: "https://auth.example.com/", ClientID: "abc", RedirectURI: "https://console.example.com/", LogoutURI: "https://example.com/bye",
		}, "connect-src 'self' https://auth.example.com;", true,
			[]string{`"domain":"https://auth.example.com"`, `"redirectUri":"https://console.example.com/"`, `"logoutUri":"https://example.com/bye"`}},
		// The live channel: its origin only (the ticket's path and query do not matter).
		{"local with live channel", console.Local, console.Config{LiveURL: "ws://localhost:8080/live"}, "connect-src 'self' ws://localhost:8080;", false,
			[]string{`"mode":"local"`}},
		{"aws with live channel", console.AWS, console.Config{CognitoDomain: awsConfig.CognitoDomain, ClientID: awsConfig.ClientID, LiveURL: awsLiveURL},
			"connect-src 'self' https://adhoc-123.auth.eu-central-1.amazoncognito.com wss://k3x9w2abcd.execute-api.eu-central-1.amazonaws.com;", true,
			[]string{`"mode":"aws"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := console.Handler(tc.mode, tc.cfg)
			w := serve(h, "GET", "/", nil)
			csp := w.Header().Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", tc.connect, "frame-ancestors 'none'", "form-action 'none'", "base-uri 'none'", "require-trusted-types-for 'script'"} {
				if !strings.Contains(csp+";", want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-") {
				t.Errorf("CSP relaxes a rule with an unsafe- keyword: %q", csp)
			}
			// connect-src names origins, never a whole scheme ("ws:", "wss:") or a wildcard.
			for _, d := range strings.Split(csp, ";") {
				f := strings.Fields(d)
				if len(f) == 0 || f[0] != "connect-src" {
					continue
				}
				for _, src := range f[1:] {
					if src != "'self'" && (!strings.Contains(src, "://") || strings.Contains(src, "*")) {
						t.Errorf("connect-src admits %q: want 'self' or one origin", src)
					}
				}
			}
			if got := w.Header().Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options %q", got)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if got := w.Header().Get("Strict-Transport-Security") != ""; got != tc.hsts {
				t.Errorf("HSTS present %v, want %v", got, tc.hsts)
			}
			cfg := serve(h, "GET", "/console/config.js", nil).Body.String()
			for _, want := range tc.configHas {
				if !strings.Contains(cfg, want) {
					t.Errorf("config.js lacks %s:\n%s", want, cfg)
				}
			}
		})
	}
}

func TestConditionalGet(t *testing.T) {
	h := console.Handler(console.Local, console.Config{})
	first := serve(h, "GET", "/console/app.js", nil)
	etag := first.Header().Get("ETag")
	if etag == "" || first.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, first.Header().Get("Cache-Control"))
	}
	tests := []struct {
		ifNoneMatch string
		status      int
	}{
		{etag, http.StatusNotModified},
		{`"other", ` + etag, http.StatusNotModified},
		{"W/" + etag, http.StatusNotModified},
		{`"other"`, http.StatusOK},
	}
	for _, tc := range tests {
		w := serve(h, "GET", "/console/app.js", map[string]string{"If-None-Match": tc.ifNoneMatch})
		if w.Code != tc.status {
			t.Errorf("If-None-Match %s: status %d, want %d", tc.ifNoneMatch, w.Code, tc.status)
		}
		if tc.status == http.StatusNotModified && w.Body.Len() != 0 {
			t.Errorf("304 with a body")
		}
	}
	if other := serve(h, "GET", "/console/style.css", nil).Header().Get("ETag"); other == etag {
		t.Errorf("two files share the ETag %s", etag)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mode    console.Mode
		cfg     console.Config
		wantErr string
	}{
		{"local needs nothing", console.Local, console.Config{}, ""},
		{"aws complete", console.AWS, awsConfig, ""},
		{"aws loopback http for tests", console.AWS, console.Config{CognitoDomain: "http://127.0.0.1:4567", ClientID: "x"}, ""},
		{"aws missing domain", console.AWS, console.Config{ClientID: "x"}, "cognito domain"},
		{"aws http domain", console.AWS, console.Config{CognitoDomain: "http://auth.example.com", ClientID: "x"}, "must use https"},
		{"aws domain with path", console.AWS, console.Config{CognitoDomain: "https://auth.example.com/oauth2", ClientID: "x"}, "no path"},
		{"aws domain injecting CSP", console.AWS, console.Config{CognitoDomain: "https://a.example.com; script-src *", ClientID: "x"}, "cognito domain"},
		{"aws missing client", console.AWS, console.Config{CognitoDomain: "https://auth.example.com"}, "client id"},
		{"aws odd client", console.AWS, console.Config{CognitoDomain: "https://auth.example.com", ClientID: "a b"}, "client id"},
		{"aws bad redirect", console.AWS, console.Config{CognitoDomain: "https://auth.example.com", ClientID: "x", RedirectURI: "/relative"}, "redirect URI"},
		{"aws bad logout", console.AWS, console.Config{CognitoDomain: "https://auth.example.com", ClientID: "x", LogoutURI: "http://example.com/"}, "logout URI"},
		{"long hidden user", console.Local, console.Config{HiddenUsername: strings.Repeat("x", 21)}, "hidden user name"},
		{"aws live channel", console.AWS, console.Config{CognitoDomain: "https://auth.example.com", ClientID: "x", LiveURL: awsLiveURL}, ""},
		{"aws live on loopback ws for tests", console.AWS, console.Config{CognitoDomain: "https://auth.example.com", ClientID: "x", LiveURL: "ws://localhost:4567/live"}, ""},
		{"aws live without tls", console.AWS, console.Config{CognitoDomain: "https://auth.example.com", ClientID: "x", LiveURL: "ws://abc.execute-api.eu-central-1.amazonaws.com/live"}, "must use wss"},
		{"local live ws", console.Local, console.Config{LiveURL: "ws://devbox.lan:8080/live"}, ""},
		{"live not a websocket", console.Local, console.Config{LiveURL: "https://localhost:8080/live"}, "must use wss"},
		{"live relative", console.Local, console.Config{LiveURL: "/live"}, "live URL"},
		{"live wildcard host", console.AWS, console.Config{CognitoDomain: "https://auth.example.com", ClientID: "x", LiveURL: "wss://*.amazonaws.com/live"}, "live URL"},
		{"live injecting CSP", console.Local, console.Config{LiveURL: "ws://localhost:8080; script-src *"}, "live URL"},
		{"live with credentials", console.Local, console.Config{LiveURL: "wss://user:pw@example.com/live"}, "live URL"},
		{"unknown mode", console.Mode(9), console.Config{}, "unknown mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate(tc.mode)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
			}
			// A handler with broken settings says so on every request instead of serving a
			// console that cannot sign anyone in.
			w := serve(console.Handler(tc.mode, tc.cfg), "GET", "/", nil)
			if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "not configured correctly") {
				t.Errorf("broken handler answered %d %q", w.Code, w.Body.String())
			}
			if w.Header().Get("Content-Security-Policy") == "" {
				t.Errorf("broken handler without CSP")
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"AUTH_BASE_URL":       "https://auth.example.com",
		"USER_POOL_CLIENT_ID": "client1",
		"HIDDEN_USERNAME":     "HelpDeskTemp",
		"LIVE_URL":            awsLiveURL,
	}
	got := console.ConfigFromEnv(func(k string) string { return env[k] })
	want := console.Config{CognitoDomain: "https://auth.example.com", ClientID: "client1", HiddenUsername: "HelpDeskTemp", LiveURL: awsLiveURL}
	if got != want {
		t.Fatalf("ConfigFromEnv = %+v, want %+v", got, want)
	}
	if err := got.Validate(console.AWS); err != nil {
		t.Fatalf("the stack's variables do not make a valid config: %v", err)
	}
	if (console.ConfigFromEnv(nil) != console.Config{}) {
		t.Fatalf("nil getenv read something")
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[console.Mode]string{console.Local: "local", console.AWS: "aws", console.Mode(0): "Mode(0)"} {
		if m.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(m), m.String(), want)
		}
	}
}

// TestVendoredFiles: the third-party files are served as the packages ship them
// (VENDORED.md), with the types a module script and a stylesheet need.
func TestVendoredFiles(t *testing.T) {
	h := console.Handler(console.Local, console.Config{})
	tests := []struct {
		path, contentType, sha256 string
		size                      int
	}{
		{"/vendor/xterm/lib/xterm.mjs", "text/javascript; charset=utf-8", "b336ec65a086c056d4804b3d4c2347da5663d3f23c3f25be866467bd8857ad59", 344970},
		{"/vendor/xterm/css/xterm.css", "text/css; charset=utf-8", "854a7c0fb70e8b1a083c16797ab827299fb18744f5ad34f227b48337e33293c6", 7112},
		{"/vendor/xterm/LICENSE.txt", "text/plain; charset=utf-8", "b569f629d00f2626a8100df2a1798210535621e42164dfd426a6fe5aac7b0ccd", 1261},
		{"/vendor/xterm-addon-fit/lib/addon-fit.mjs", "text/javascript; charset=utf-8", "2d87e1bddc73be9111de8beee5370c3bb7aac9c94e18e6f245f02ca741ef1769", 1967},
		{"/vendor/xterm-addon-fit/LICENSE.txt", "text/plain; charset=utf-8", "e256f01188af527e4d06d21d06fbf785ae9c50d4b328bf03cbe0ba7f0aa4228f", 1103},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			w := serve(h, "GET", tc.path, nil)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != tc.contentType || w.Header().Get("Content-Security-Policy") == "" {
				t.Fatalf("status %d, Content-Type %q, CSP %q", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Security-Policy"))
			}
			sum := sha256.Sum256(w.Body.Bytes())
			if got := hex.EncodeToString(sum[:]); got != tc.sha256 || w.Body.Len() != tc.size {
				t.Errorf("%d bytes with SHA-256 %s, want %d bytes with %s (the package's file, VENDORED.md)", w.Body.Len(), got, tc.size, tc.sha256)
			}
		})
	}
}
