package sysproxy

import (
	"errors"
	"net/url"
	"testing"
)

func settings(s Settings) Source { return func() (Settings, error) { return s, nil } }
func failing(t *testing.T) Source {
	return func() (Settings, error) { return Settings{}, errors.New("no such call") }
}

// unread fails the test when Resolve reads a source it has no need of.
func unread(t *testing.T, name string) Source {
	return func() (Settings, error) {
		t.Errorf("Resolve read the %s settings, which it needs not", name)
		return Settings{}, nil
	}
}

func noPAC(t *testing.T) PACLookup {
	return func(pacURL, target string) string {
		t.Errorf("PAC lookup (%q, %q) without auto-configuration", pacURL, target)
		return ""
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func proxyString(u *url.URL) string {
	if u == nil {
		return "direct"
	}
	return u.String()
}

// TestResolveOrder: the account's Internet Options first, the WinHTTP machine proxy when
// they name no proxy and no auto-detection, the registry when neither names one.
func TestResolveOrder(t *testing.T) {
	const target = "https://api.support.example/v1/agent/poll"
	for _, c := range []struct {
		name                    string
		user, machine, registry func(t *testing.T) Source
		pac                     string // what the PAC lookup answers
		wantPACURL              string // the PAC URL the lookup must be asked with
		want                    string
	}{
		{
			name:     "account's static proxy",
			user:     func(*testing.T) Source { return settings(Settings{Proxy: "proxy.corp:8080"}) },
			machine:  func(t *testing.T) Source { return unread(t, "machine") },
			registry: func(t *testing.T) Source { return unread(t, "registry") },
			want:     "http://proxy.corp:8080",
		},
		{
			name:       "account's auto-detection (WPAD) wins over its static proxy",
			user:       func(*testing.T) Source { return settings(Settings{Proxy: "static:3128", AutoDetect: true}) },
			machine:    func(t *testing.T) Source { return unread(t, "machine") },
			registry:   func(t *testing.T) Source { return unread(t, "registry") },
			pac:        "wpad-proxy:8080; other:8080",
			wantPACURL: "",
			want:       "http://wpad-proxy:8080",
		},
		{
			name: "PAC says DIRECT: the static proxy",
			user: func(*testing.T) Source {
				return settings(Settings{Proxy: "static:3128", PACURL: "http://pac/proxy.pac"})
			},
			machine:    func(t *testing.T) Source { return unread(t, "machine") },
			registry:   func(t *testing.T) Source { return unread(t, "registry") },
			pac:        "",
			wantPACURL: "http://pac/proxy.pac",
			want:       "http://static:3128",
		},
		{
			name:     "nothing for the account: the machine's WinHTTP proxy",
			user:     func(*testing.T) Source { return settings(Settings{}) },
			machine:  func(*testing.T) Source { return settings(Settings{Proxy: "winhttp:80"}) },
			registry: func(t *testing.T) Source { return unread(t, "registry") },
			want:     "http://winhttp:80",
		},
		{
			name:     "the account's call fails: the machine's WinHTTP proxy",
			user:     failing,
			machine:  func(*testing.T) Source { return settings(Settings{Proxy: "winhttp:80"}) },
			registry: func(t *testing.T) Source { return unread(t, "registry") },
			want:     "http://winhttp:80",
		},
		{
			name:       "the account's PAC URL stays with the machine's proxy",
			user:       func(*testing.T) Source { return settings(Settings{PACURL: "http://pac/p.pac"}) },
			machine:    func(*testing.T) Source { return settings(Settings{Proxy: "winhttp:80"}) },
			registry:   func(t *testing.T) Source { return unread(t, "registry") },
			pac:        "from-pac:8080",
			wantPACURL: "http://pac/p.pac",
			want:       "http://from-pac:8080",
		},
		{
			name:       "the account's PAC file alone: not the registry",
			user:       func(*testing.T) Source { return settings(Settings{PACURL: "http://pac/p.pac"}) },
			machine:    func(*testing.T) Source { return settings(Settings{}) },
			registry:   func(t *testing.T) Source { return unread(t, "registry") },
			pac:        "from-pac:8080",
			wantPACURL: "http://pac/p.pac",
			want:       "http://from-pac:8080",
		},
		{
			name:     "neither call names one: the registry",
			user:     failing,
			machine:  failing,
			registry: func(*testing.T) Source { return settings(Settings{Proxy: "reg:8888"}) },
			want:     "http://reg:8888",
		},
		{
			name:     "nothing anywhere: direct",
			user:     func(*testing.T) Source { return settings(Settings{}) },
			machine:  func(*testing.T) Source { return settings(Settings{}) },
			registry: failing,
			want:     "direct",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := Resolve(c.user(t), c.machine(t), c.registry(t))
			asked := false
			got, err := conf.ProxyFor(mustURL(t, target), func(pacURL, gotTarget string) string {
				asked = true
				if pacURL != c.wantPACURL || gotTarget != target {
					t.Errorf("PAC lookup (%q, %q), want (%q, %q)", pacURL, gotTarget, c.wantPACURL, target)
				}
				return c.pac
			})
			if err != nil {
				t.Fatal(err)
			}
			if proxyString(got) != c.want {
				t.Errorf("proxy %s, want %s", proxyString(got), c.want)
			}
			if wantAsked := c.pac != "" || c.wantPACURL != ""; asked != wantAsked {
				t.Errorf("PAC asked: %v, want %v", asked, wantAsked)
			}
		})
	}
}

// TestStaticProxy: the per-scheme list, the bypass list in go-ieproxy's (that is
// golang.org/x/net/http/httpproxy's NO_PROXY) forms and in the Windows forms.
func TestStaticProxy(t *testing.T) {
	for _, c := range []struct {
		name          string
		proxy, bypass string
		target        string
		want          string
	}{
		{"one proxy for every scheme", "p:3128", "", "https://a.example/", "http://p:3128"},
		{"one proxy, http", "p:3128", "", "http://a.example/", "http://p:3128"},
		{"per scheme, https", "http=h:80;https=s:443", "", "https://a.example/", "http://s:443"},
		{"per scheme, http", "http=h:80;https=s:443", "", "http://a.example/", "http://h:80"},
		{"per scheme, white space between", "http=h:80 https=s:443", "", "https://a.example/", "http://s:443"},
		{"per scheme, upper-case scheme", "HTTPS=s:443", "", "https://a.example/", "http://s:443"},
		{"http only: https goes direct", "http=h:80", "", "https://a.example/", "direct"},
		{"a scheme-less entry backs the others", "ftp=f:21;p:8080", "", "https://a.example/", "http://p:8080"},
		{"the proxy as a URL", "https=https://tls-proxy.corp:443", "", "https://a.example/", "https://tls-proxy.corp:443"},
		{"socks is not for HTTPS", "socks=s:1080", "", "https://a.example/", "direct"},
		{"loopback name", "p:1", "", "https://localhost/", "direct"},
		{"loopback address", "p:1", "", "https://127.0.0.2/", "direct"},
		{"loopback v6", "p:1", "", "https://[::1]/", "direct"},
		{"bypass: exact name", "p:1", "a.example", "https://a.example/", "direct"},
		{"bypass: a name covers its subdomains", "p:1", "example.com", "https://api.example.com/", "direct"},
		{"bypass: a name is no suffix of another", "p:1", "example.com", "https://notexample.com/", "http://p:1"},
		{"bypass: leading dot, subdomains", "p:1", ".example.com", "https://api.example.com/", "direct"},
		{"bypass: leading dot, not the name", "p:1", ".example.com", "https://example.com/", "http://p:1"},
		{"bypass: *. prefix", "p:1", "*.example.com", "https://deep.api.example.com/", "direct"},
		{"bypass: *. prefix, not the name", "p:1", "*.example.com", "https://example.com/", "http://p:1"},
		{"bypass: upper case", "p:1", "API.Example.COM", "https://api.example.com/", "direct"},
		{"bypass: list with ;", "p:1", "x.test;a.example", "https://a.example/", "direct"},
		{"bypass: list with , and spaces", "p:1", "x.test, a.example", "https://a.example/", "direct"},
		{"bypass: port, matches", "p:1", "a.example:443", "https://a.example/", "direct"},
		{"bypass: port, other port", "p:1", "a.example:8443", "https://a.example/", "http://p:1"},
		{"bypass: explicit port", "p:1", "a.example:8443", "https://a.example:8443/", "direct"},
		{"bypass: IP", "p:1", "10.1.2.3", "https://10.1.2.3/", "direct"},
		{"bypass: IP, another", "p:1", "10.1.2.3", "https://10.1.2.4/", "http://p:1"},
		{"bypass: CIDR", "p:1", "10.0.0.0/8", "https://10.200.0.1/", "direct"},
		{"bypass: CIDR, outside", "p:1", "10.0.0.0/8", "https://11.0.0.1/", "http://p:1"},
		{"bypass: a name does not match an IP", "p:1", "10.1.2.3.example", "https://10.1.2.3/", "http://p:1"},
		{"bypass: *", "p:1", "*", "https://anything.example/", "direct"},
		{"bypass: <local>, a dotless name", "p:1", "<local>", "https://intranet/", "direct"},
		{"bypass: <local>, a name with a dot", "p:1", "<local>", "https://api.example.com/", "http://p:1"},
		{"bypass: <local> in upper case", "p:1", "<LOCAL>", "https://intranet/", "direct"},
		{"bypass: wildcard in an address", "p:1", "10.*", "https://10.9.8.7/", "direct"},
		{"bypass: wildcard in an address, outside", "p:1", "10.*", "https://110.9.8.7/", "http://p:1"},
		{"bypass: wildcard inside a name", "p:1", "api*.example.com", "https://api-eu.example.com/", "direct"},
		{"bypass: wildcard inside a name, no match", "p:1", "api*.example.com", "https://web.example.com/", "http://p:1"},
		{"bypass: two wildcards", "p:1", "*intra*", "https://my-intranet.corp/", "direct"},
		{"bypass: scheme, same", "p:1", "https://a.example", "https://a.example/", "direct"},
		{"bypass: scheme, other", "p:1", "http://a.example", "https://a.example/", "http://p:1"},
		{"bypass: empty entries", "p:1", ";;, ;", "https://a.example/", "http://p:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := Resolve(settings(Settings{Proxy: c.proxy, Bypass: c.bypass}), unread(t, "machine"), unread(t, "registry"))
			got, err := conf.ProxyFor(mustURL(t, c.target), noPAC(t))
			if err != nil {
				t.Fatal(err)
			}
			if proxyString(got) != c.want {
				t.Errorf("proxy %s, want %s", proxyString(got), c.want)
			}
		})
	}
}

func TestPACListTakesTheFirstProxy(t *testing.T) {
	for _, c := range []struct{ list, want string }{
		{"a:80", "http://a:80"},
		{"a:80;b:80", "http://a:80"},
		{" a:80 ; b:80", "http://a:80"},
		{"a:80 b:80", "http://a:80"},
		{"", "direct"},
		{"; ", "direct"},
	} {
		conf := Resolve(settings(Settings{AutoDetect: true}), unread(t, "machine"), unread(t, "registry"))
		got, err := conf.ProxyFor(mustURL(t, "https://a.example/"), func(string, string) string { return c.list })
		if err != nil {
			t.Fatal(err)
		}
		if proxyString(got) != c.want {
			t.Errorf("PAC answer %q: proxy %s, want %s", c.list, proxyString(got), c.want)
		}
	}
}

func TestBadProxyIsAnError(t *testing.T) {
	conf := Resolve(settings(Settings{Proxy: "http://%zz"}), unread(t, "machine"), unread(t, "registry"))
	if u, err := conf.ProxyFor(mustURL(t, "https://a.example/"), noPAC(t)); err == nil {
		t.Errorf("proxy %v for a list that names no valid proxy, want an error", u)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "abc", true},
		{"a*c", "abc", true},
		{"a*c", "ac", true},
		{"a*c", "abcd", false},
		{"*.b.c", "a.b.c", true},
		{"*.b.c", "b.c", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"**a", "xa", true},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"", "", true},
		{"", "a", false},
	} {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}
